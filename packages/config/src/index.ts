export { findProjectFile, PROJECT_FILE, userConfigFile } from './config-paths.js';
export {
  CONNECTION_ENV,
  type ConnectionInput,
  type ConnectionSettings,
  type ConnectionValues,
  describeConnection,
  type ResolvedConnection,
  resolveConnection,
  SETTING_SOURCES,
  type Setting,
  type SettingSource,
} from './connection-resolver.js';
export {
  type IniDoc,
  parseIni,
  readSimvueSettings,
  type SimvueSetting,
  type SimvueSettings,
} from './simvue-config.js';
export {
  parseToml,
  readTomlFile,
  stringifyToml,
  type TomlDoc,
  updateTomlFile,
  writeFileAtomic,
} from './toml-file.js';
