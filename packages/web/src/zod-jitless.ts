import { config } from 'zod';

// Imported first in main.tsx, before any schema is built: zod probes `new Function('')` while building object
// schemas unless jitless, and the server's content policy (no 'unsafe-eval') reports that probe as a violation.
config({ jitless: true });
