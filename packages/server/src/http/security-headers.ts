import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * One content policy for every answer (UI, docs page, JSON): everything from this server, no eval, no framing.
 * Styles may be inline: the docs page has a `<style>` block and the UI sets styles from script.
 */
const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
} as const;

/** The content policy as a header value. */
const CONTENT_SECURITY_POLICY = Object.entries(CSP_DIRECTIVES)
  .map(([name, values]) => `${name} ${values.join(' ')}`)
  .join('; ');

/**
 * The headers of answers written before Fastify sees a request (Node's `clientError`), which no hook reaches;
 * the same values helmet sets on the others.
 */
export const RAW_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/**
 * Security headers on every answer of the app (helmet): the content policy above, `nosniff`, no referrer, no
 * framing. No HSTS: the server speaks plain HTTP and the TLS proxy in front of it owns that decision. A route
 * may still set a stricter policy of its own (artifact bytes are sandboxed).
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
