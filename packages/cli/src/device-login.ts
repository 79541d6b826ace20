import { API_PREFIX } from '@simscope/protocol';
import { CliError } from './errors.js';

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** The client id the CLI names itself with. */
const CLIENT_ID = 'simscope-cli';

/** What the two endpoints answer: their fields, or an RFC 6749 error (a Simscope error for a bad request). */
interface Answer extends Partial<DeviceStart> {
  access_token?: string;
  error?: string | { message?: string };
  error_description?: string;
}

interface DeviceStart {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

async function postForm(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Answer }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError('unavailable', `could not reach ${url}: ${(error as Error).message}`, 1, {
      cause: error,
    });
  }
  const text = await res.text();
  try {
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  } catch {
    throw new CliError('unavailable', `${url} answered ${res.status} with no JSON`);
  }
}

/**
 * Signs in with the OAuth 2.0 device authorization grant (RFC 8628): shows the user code and the link where a
 * signed-in user approves it, then polls at the server's interval (longer after `slow_down`) until a token comes.
 */
export async function deviceLogin(
  url: string,
  scope: string,
  out: { write(text: string): unknown },
): Promise<string> {
  const started = await postForm(`${url}${API_PREFIX}/auth/device`, { client_id: CLIENT_ID, scope });
  if (started.status !== 200) {
    const message =
      started.body.error_description ??
      (typeof started.body.error === 'object' ? started.body.error.message : started.body.error) ??
      `HTTP ${started.status}`;
    throw new CliError('unauthorized', `the server refused a device sign-in: ${message}`);
  }
  const start = started.body as DeviceStart;
  out.write(
    `To sign in, open ${start.verification_uri} and enter the code ${start.user_code}\n` +
      (start.verification_uri_complete ? `  or open ${start.verification_uri_complete}\n` : '') +
      `Waiting for approval (the code expires in ${Math.round(start.expires_in / 60)} min)…\n`,
  );
  let interval = start.interval ?? 5;
  const deadline = Date.now() + start.expires_in * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    const { status, body } = await postForm(`${url}${API_PREFIX}/auth/token`, {
      grant_type: GRANT_TYPE,
      device_code: start.device_code,
      client_id: CLIENT_ID,
    });
    if (status === 200 && typeof body.access_token === 'string') return body.access_token;
    if (body.error === 'authorization_pending') continue;
    if (body.error === 'slow_down') {
      interval += 5;
      continue;
    }
    if (body.error === 'access_denied')
      throw new CliError('forbidden', 'the sign-in was denied in the browser');
    if (body.error === 'expired_token') break;
    throw new CliError(
      'unauthorized',
      `device sign-in failed: ${body.error_description ?? JSON.stringify(body.error) ?? status}`,
    );
  }
  throw new CliError('unauthorized', 'the code expired before it was approved: run simscope login again');
}
