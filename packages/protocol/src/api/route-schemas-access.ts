import { z } from 'zod';
import { durationSchema } from '../durations.js';
import { LIMITS } from '../limits.js';
import { folderPathSchema } from '../schemas.js';
import { limitParam, textParam } from './query-params.js';
import { WORKSPACE_ROLES } from './routes-access.js';

const roleSchema = z.enum(WORKSPACE_ROLES);
const next = z.string().optional();

/** Schemas of the members, invite, share and audit routes. */
export const ACCESS_ROUTE_SCHEMAS = {
  setMemberRole: { bodySchema: z.strictObject({ role: roleSchema }) },
  createInvite: {
    bodySchema: z.strictObject({
      role: roleSchema.optional(),
      /** Seconds, or text such as '2d'; at most 30 days. */
      expiresIn: durationSchema(30 * 86_400).optional(),
    }),
    emptyBodyIsObject: true,
  },
  acceptInvite: { bodySchema: z.strictObject({ token: z.string().min(1).max(200) }) },
  createShare: {
    bodySchema: z.union([
      z.strictObject({ run: z.string().min(1).max(LIMITS.nameLength) }),
      z.strictObject({ folder: folderPathSchema }),
    ]),
  },
  listAudit: { querySchema: z.object({ limit: limitParam(100, 1000), next }) },
  listAllAudit: { querySchema: z.object({ limit: limitParam(100, 1000), next, workspace: textParam() }) },
} as const;
