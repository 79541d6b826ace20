#!/usr/bin/env node
import { SimscopeError } from '@simscope/protocol';
import { bootstrap, savedToken, saveLocalProfile } from './bootstrap.js';
import { loadServerConfig } from './config.js';
import { startServer } from './server.js';
import { dataDirWarnings } from './store/open-store.js';

try {
  const config = loadServerConfig(process.argv.slice(2), process.env, process.cwd());
  for (const warning of dataDirWarnings(config.dataDir))
    process.stderr.write(`simscope: warning: ${warning}\n`);
  await startServer(config, {
    bootstrapToken: process.env.SIMSCOPE_BOOTSTRAP_TOKEN,
    bootstrap,
    saveLocalProfile,
    savedToken,
  });
} catch (error) {
  const message =
    error instanceof SimscopeError || error instanceof TypeError ? error.message : String(error);
  process.stderr.write(`simscope: ${message}\n`);
  process.exit(2);
}
