export { RunDataStore, type RunDataStoreOptions } from './run-datastore.js';
