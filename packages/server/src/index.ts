export { bootstrap, savedToken, saveLocalProfile } from './bootstrap.js';
export { loadServerConfig, type ServerConfig, userConfigPath } from './config.js';
export { type AppConfig, createApp, SERVER_VERSION } from './http/app.js';
export { PostgresStore } from './postgres/postgres-store.js';
export { startServer } from './server.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export { openStore } from './store/open-store.js';
export type { Store } from './store/store.js';
