export { RedisDataStore, type RedisDataStoreOptions } from './redis-datastore.js';
