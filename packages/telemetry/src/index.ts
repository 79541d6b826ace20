export type { PreparedBatch, TelemetryStats } from './batch-sender.js';
export {
  CONSENT_SOURCES,
  type ConsentOptions,
  type ConsentSource,
  type ConsentStatus,
  DEFAULT_ENABLED,
  describeConsent,
  setTelemetryConsent,
  telemetryStatus,
  userConfigFile,
  withTelemetrySetting,
} from './consent.js';
export { TelemetryError } from './errors.js';
export { type InstrumentOptions, instrument } from './instrument.js';
export { TelemetryRegister } from './register.js';
export { checkEndpoint, parseRegistry, type ServiceEntry, serviceName } from './registry.js';
export { sessionId } from './session.js';
export { DEFAULT_SUMMARY_LIMITS, Summariser, type SummaryLimits } from './summarise.js';
export {
  DEFAULT_REGISTRY_FILE,
  type Destination,
  REGISTRY_ENV,
  type Redactor,
  Telemetry,
  type TelemetryConfig,
  type TrackedCall,
  type TrackOptions,
  track,
  tracked,
} from './telemetry.js';
