import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  | { kind: 'forward' }
  /** Answer this status itself, without asking the server. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Close the connection without an answer; the server never sees the request. */
  | { kind: 'drop' }
  /** Let the server handle the request, then close the connection before the answer reaches the client. */
  | { kind: 'lose-answer' };

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  fault: Fault['kind'];
}

export interface FaultProxyOptions {
  /** Decides the fate of the n-th request (0-based); default: forward everything. */
  plan?: (request: { method: string; url: string; n: number }) => Fault;
  /** Awaited before a request is forwarded, e.g. to write rows between two pages of a listing. */
  before?: (request: { method: string; url: string; n: number }) => Promise<void>;
}

/**
 * A real HTTP proxy on 127.0.0.1 in front of a server, that answers some requests itself (503, 429…),
 * drops connections or loses answers, and records what it saw.
 */
export class FaultProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  readonly #server: http.Server;
  readonly #agent: http.Agent;

  private constructor(server: http.Server, agent: http.Agent, requests: ProxiedRequest[]) {
    this.#server = server;
    this.#agent = agent;
    this.requests = requests;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    const upstream = new URL(target);
    const agent = new http.Agent({ keepAlive: true });
    const requests: ProxiedRequest[] = [];
    let n = 0;
    const server = http.createServer((req, res) => {
      const request = { method: req.method ?? 'GET', url: req.url ?? '/', n: n++ };
      const fault = options.plan?.(request) ?? { kind: 'forward' };
      requests.push({ method: request.method, url: request.url, fault: fault.kind });
      if (fault.kind === 'status') {
        req.resume();
        const body = JSON.stringify({ error: { code: 'unavailable', message: `injected ${fault.status}` } });
        res.writeHead(fault.status, {
          'content-type': 'application/json',
          ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
        });
        res.end(body);
        return;
      }
      if (fault.kind === 'drop') {
        req.resume();
        req.socket.destroy();
        return;
      }
      const forward = async () => {
        await options.before?.(request);
        const out = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host },
            agent,
          },
          (answer) => {
            if (fault.kind === 'lose-answer') {
              answer.resume();
              answer.once('end', () => req.socket.destroy());
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.once('error', () => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'unavailable', message: 'upstream unreachable' } }));
        });
        req.pipe(out);
      };
      forward().catch(() => req.socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FaultProxy(server, agent, requests);
  }

  /** Requests whose path (without the query) is `path`. */
  count(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.url.split('?')[0] === path).length;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
