import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ArraySender, pendingArray } from './arrays.js';
import { HttpTransport } from './http-transport.js';

describe('ArraySender', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps three uploads in flight while arrays wait, and flush waits for every one', async () => {
    const received: { step: string; bytes: number[] }[] = [];
    let open = 0;
    let mostOpen = 0;
    let held: (() => void)[] = [];
    // Each answer waits until three requests are open at once (or 1 s has passed, so a sender that sends one at
    // a time is slow, not stuck, and fails on `mostOpen`).
    const answer = (res: ServerResponse) => () => {
      open--;
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    };
    server = createServer((req: IncomingMessage, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        const url = new URL(req.url ?? '', 'http://x');
        received.push({ step: url.searchParams.get('step') ?? '', bytes: [...Buffer.concat(parts)] });
        open++;
        mostOpen = Math.max(mostOpen, open);
        held.push(answer(res));
        const release = () => {
          const now = held;
          held = [];
          for (const send of now) send();
        };
        if (open === 3) release();
        else setTimeout(release, 1000);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const errors: unknown[] = [];
    const sender = new ArraySender(
      new HttpTransport({ url: `http://127.0.0.1:${port}`, token: 'ssk_x' }),
      'r1',
      1 << 20,
      (e) => errors.push(e),
    );
    // One at a time, as a solver logs: each array arrives while the uploads before it are under way.
    for (let step = 0; step < 6; step++) {
      sender.add(pendingArray('T', Uint8Array.of(step, 7), { step }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sender.flush();
    expect(errors).toEqual([]);
    expect(mostOpen).toBe(3);
    expect(sender.sent).toBe(6);
    expect(sender.queuedBytes).toBe(0);
    expect(received.map((r) => r.step).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const r of received) expect(r.bytes).toEqual([Number(r.step), 7]);
  });

  it('sends a step logged again only once the upload before it is answered, so the last one logged is kept', async () => {
    const arrived: string[] = [];
    const open = new Map<string, number>();
    let overlapped = 0;
    let mostOpen = 0;
    server = createServer((req, res) => {
      const step = new URL(req.url ?? '', 'http://x').searchParams.get('step') ?? '';
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        arrived.push(`${step}:${Buffer.concat(parts)[0]}`);
        if ((open.get(step) ?? 0) > 0) overlapped++;
        open.set(step, (open.get(step) ?? 0) + 1);
        mostOpen = Math.max(
          mostOpen,
          [...open.values()].reduce((a, b) => a + b, 0),
        );
        // Long enough for the next uploads to start meanwhile.
        setTimeout(() => {
          open.set(step, (open.get(step) ?? 0) - 1);
          res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
        }, 30);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const errors: unknown[] = [];
    const sender = new ArraySender(
      new HttpTransport({ url: `http://127.0.0.1:${port}`, token: 'ssk_x' }),
      'r1',
      1 << 20,
      (e) => errors.push(e),
    );
    for (const [step, value] of [
      [0, 1],
      [0, 2],
      [1, 3],
      [0, 4],
      [2, 5],
    ] as const)
      sender.add(pendingArray('T', Uint8Array.of(value), { step }));
    await sender.flush();
    expect(errors).toEqual([]);
    expect(overlapped).toBe(0);
    expect(mostOpen).toBe(3);
    expect(arrived.filter((a) => a.startsWith('0:'))).toEqual(['0:1', '0:2', '0:4']);
    expect(arrived.sort()).toEqual(['0:1', '0:2', '0:4', '1:3', '2:5']);
  });
});
