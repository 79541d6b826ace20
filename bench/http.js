// A small keep-alive HTTP client for benchmarks: no retries, no body parsing beyond what is asked.
import http from 'node:http';
import { Packr, Unpackr } from 'msgpackr';
import { BENCH_TOKEN } from './server-process.js';

export const packr = new Packr({ useRecords: false });
export const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function createClient(baseUrl, { sockets = 8 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const base = new URL(baseUrl);
  function request(method, path, { body, type = 'application/json', accept = 'application/json' } = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path: `/api/v1${path}`,
          headers: {
            authorization: `Bearer ${BENCH_TOKEN}`,
            accept,
            ...(body ? { 'content-type': type, 'content-length': body.length } : {}),
          },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const buf = Buffer.concat(chunks);
            if (res.statusCode >= 300)
              return reject(new Error(`${method} ${path}: ${res.statusCode} ${buf}`));
            resolve(buf);
          });
        },
      );
      req.on('error', reject);
      if (body) req.end(body);
      else req.end();
    });
  }
  return {
    request,
    json: async (method, path, value) =>
      JSON.parse(
        (
          await request(method, path, value === undefined ? {} : { body: Buffer.from(JSON.stringify(value)) })
        ).toString(),
      ),
    close: () => agent.destroy(),
  };
}
