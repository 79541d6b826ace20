import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedHook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request; it answers the statuses in `statuses` in turn,
 * then 200 (set `statuses` again at any time).
 */
export async function startWebhookReceiver(): Promise<{
  url: string;
  requests: ReceivedHook[];
  statuses: number[];
  close(): Promise<void>;
}> {
  const requests: ReceivedHook[] = [];
  const state = { statuses: [] as number[] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = state.statuses.shift() ?? 200;
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status,
      });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/simscope`,
    requests,
    get statuses() {
      return state.statuses;
    },
    set statuses(value: number[]) {
      state.statuses = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
