export { type OwnedRedisServer, SERVER_STATE_FILE } from './owned-redis-server.js';
export {
  RedisDataStore,
  type RedisDataStoreOptions,
  type RedisDataStoreStartOptions,
} from './redis-datastore.js';
