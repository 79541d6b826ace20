import { type ErrorCode, SimscopeError } from '@simscope/protocol';

/** MLflow's error codes (databricks `ErrorCode`) this API answers with, and their HTTP status. */
const MLFLOW_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_STATE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  RESOURCE_EXHAUSTED: 507,
} as const;

export type MlflowErrorCode = keyof typeof MLFLOW_STATUS;

/** An error answered as MLflow answers it: `{ error_code, message }`. */
export class MlflowError extends Error {
  readonly errorCode: MlflowErrorCode;

  constructor(errorCode: MlflowErrorCode, message: string) {
    super(message);
    this.name = 'MlflowError';
    this.errorCode = errorCode;
  }
}

const FROM_SIMSCOPE: Partial<Record<ErrorCode, MlflowErrorCode>> = {
  bad_request: 'BAD_REQUEST',
  invalid_body: 'BAD_REQUEST',
  invalid_field: 'INVALID_PARAMETER_VALUE',
  invalid_filter: 'INVALID_PARAMETER_VALUE',
  invalid_cursor: 'INVALID_PARAMETER_VALUE',
  payload_too_large: 'INVALID_PARAMETER_VALUE',
  unsupported_media_type: 'BAD_REQUEST',
  unauthorized: 'UNAUTHENTICATED',
  forbidden: 'PERMISSION_DENIED',
  not_found: 'RESOURCE_DOES_NOT_EXIST',
  conflict: 'RESOURCE_ALREADY_EXISTS',
  invalid_transition: 'INVALID_STATE',
  quota_exceeded: 'RESOURCE_EXHAUSTED',
  rate_limited: 'REQUEST_LIMIT_EXCEEDED',
  unavailable: 'TEMPORARILY_UNAVAILABLE',
  database_busy: 'TEMPORARILY_UNAVAILABLE',
  storage_full: 'RESOURCE_EXHAUSTED',
  header_too_large: 'BAD_REQUEST',
};

/** The MLflow status, body and Retry-After of any error thrown while answering an MLflow route. */
export function mlflowAnswer(error: unknown): {
  status: number;
  body: { error_code: MlflowErrorCode; message: string };
  retryAfter?: string;
} {
  if (error instanceof MlflowError) {
    return {
      status: MLFLOW_STATUS[error.errorCode],
      body: { error_code: error.errorCode, message: error.message },
    };
  }
  if (error instanceof SimscopeError) {
    const code = FROM_SIMSCOPE[error.code] ?? 'INTERNAL_ERROR';
    const retry = code === 'TEMPORARILY_UNAVAILABLE' || code === 'REQUEST_LIMIT_EXCEEDED';
    return {
      status: MLFLOW_STATUS[code],
      body: { error_code: code, message: error.message },
      ...(retry ? { retryAfter: '1' } : {}),
    };
  }
  const status = (error as { statusCode?: number } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: MlflowErrorCode = status === 413 ? 'INVALID_PARAMETER_VALUE' : 'BAD_REQUEST';
    return { status: MLFLOW_STATUS[code], body: { error_code: code, message: (error as Error).message } };
  }
  return { status: 500, body: { error_code: 'INTERNAL_ERROR', message: 'internal error' } };
}

/** MLflow's refusal of a missing required field. */
export function missing(field: string): MlflowError {
  return new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`,
  );
}

/** MLflow's refusal of a field of the wrong type or value. */
export function invalid(field: string, value: unknown, why = ''): MlflowError {
  return new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied${why ? `: ${why}` : ''}.`,
  );
}
