import { randomBytes } from 'node:crypto';

const SESSION_ID = randomBytes(32).toString('hex');

/** This process's session id: 64 random hex characters, the same for the life of the process. */
export function sessionId(): string {
  return SESSION_ID;
}
