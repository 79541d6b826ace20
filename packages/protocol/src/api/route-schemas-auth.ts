import { z } from 'zod';
import { durationSchema } from '../durations.js';
import { LIMITS } from '../limits.js';
import { TOKEN_SCOPES } from '../schemas.js';

/** Longest password accepted: scrypt's cost does not grow with it, but a request body should stay small. */
const PASSWORD_MAX = 1024;
/** Shortest password a user may set. */
const PASSWORD_MIN = 8;

const password = () => z.string().min(PASSWORD_MIN).max(PASSWORD_MAX);

/** RFC 8628 requests are form-encoded; one field may arrive as a list when repeated. */
const formText = (max: number) => z.string().min(1).max(max);

/** The schemas of the sign-in routes (merged into `ROUTE_SCHEMAS`). */
export const AUTH_ROUTE_SCHEMAS = {
  signIn: {
    bodySchema: z.strictObject({
      user: z.string().min(1).max(LIMITS.nameLength),
      password: z.string().min(1).max(PASSWORD_MAX),
    }),
  },
  changeOwnPassword: {
    bodySchema: z.strictObject({ current: z.string().max(PASSWORD_MAX).optional(), password: password() }),
  },
  setUserPassword: { bodySchema: z.strictObject({ password: password() }) },
  deviceAuthorization: {
    bodySchema: z.object({ client_id: formText(200), scope: z.string().max(200).optional() }),
  },
  deviceToken: {
    bodySchema: z.object({
      grant_type: formText(200),
      device_code: formText(200),
      client_id: formText(200).optional(),
    }),
  },
  decideDeviceGrant: {
    bodySchema: z.strictObject({
      approve: z.boolean(),
      scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).optional(),
      /** Lifetime of the token: seconds or text such as '30d'; absent or null for none. */
      expiresIn: durationSchema().nullable().optional(),
    }),
  },
  oidcCallback: {
    querySchema: z.object({
      code: z.string().max(4096).optional(),
      state: z.string().max(4096).optional(),
      error: z.string().max(200).optional(),
      error_description: z.string().max(1000).optional(),
    }),
  },
};
