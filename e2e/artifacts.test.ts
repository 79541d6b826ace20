import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactNameFor, Client, ClientError, detectMimeType, Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobEntry, BlobStore } from '../packages/server/src/blob/blob-store.js';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { S3BlobStore } from '../packages/server/src/blob/s3-blob-store.js';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';
import { startS3 } from '../test/s3-server.js';
import { FaultProxy } from './fault-proxy.js';

const quiet = { systemInfo: false, onError: () => {}, suppressErrors: false };
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every file under `dir`, relative with '/', sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

async function blobEntries(store: BlobStore): Promise<BlobEntry[]> {
  const out: BlobEntry[] = [];
  for await (const e of store.list()) out.push(e);
  return out;
}

const SYSTEM_FILES = [
  'blockMeshDict',
  'controlDict',
  'fvSchemes',
  'fvSolution',
  'meshQualityDict',
  'snappyHexMeshDict',
  'surfaceFeaturesDict',
];

describe.each(['local', 's3'] as const)('artifacts from the client, %s blob store', (kind) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let blobs: BlobStore;
  let stopStore: () => Promise<void>;
  let url: string;
  let client: Client;
  let work: string;
  const cwd = process.cwd();
  const connection = () => ({ url, token: ADMIN_TOKEN });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'simscope-e2e-artifacts-'));
    if (kind === 'local') {
      blobs = new LocalBlobStore(join(work, 'blobs'));
      stopStore = async () => {};
    } else {
      const s3 = await startS3();
      blobs = new S3BlobStore({ ...s3.config, partSize: 5 * 1024 * 1024 });
      stopStore = async () => {
        await blobs.close();
        await s3.stop();
      };
    }
    t = await openTestApp('sqlite', { blobs });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client(connection());
    // The OpenFOAM case of the reference: a `system` directory of 7 dictionaries, and a few more files.
    const caseDir = join(work, 'case');
    mkdirSync(join(caseDir, 'system'), { recursive: true });
    mkdirSync(join(caseDir, 'constant'), { recursive: true });
    for (const name of SYSTEM_FILES) {
      writeFileSync(
        join(caseDir, 'system', name),
        `FoamFile { object ${name}; }\n// ${randomBytes(8).toString('hex')}\n`,
      );
    }
    writeFileSync(join(caseDir, 'constant', 'transportProperties'), 'nu 1e-05;\n');
    writeFileSync(join(caseDir, 'log.simpleFoam'), 'Time = 1\nsmoothSolver: Solving for Ux\n');
    writeFileSync(
      join(caseDir, 'mesh.png'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    );
    process.chdir(caseDir);
  });
  afterAll(async () => {
    process.chdir(cwd);
    await t.close();
    await stopStore();
    rmSync(work, { recursive: true, force: true });
  });

  const newRun = (name: string) => new Run().config({ ...connection(), ...quiet }).init({ name });

  it('saves the system directory with preservePath and gets back exactly those 7 files by startsWith', async () => {
    const run = await newRun(`openfoam-${kind}`);
    const saved = await run.saveDirectory('system', 'input', { preservePath: true });
    expect(saved.map((a) => a.name)).toEqual(SYSTEM_FILES.map((f) => `system/${f}`));
    await run.save('constant/transportProperties', 'input', { preservePath: true });
    await run.save('log.simpleFoam', 'output');
    await run.save('mesh.png', 'output', { metadata: { view: 'xy' } });
    await run.close();

    const listed = await client.listArtifacts(run.name!);
    expect(listed.map((a) => [a.name, a.category, a.mimeType])).toEqual([
      ['constant/transportProperties', 'input', 'text/plain'],
      ['log.simpleFoam', 'output', 'text/plain'],
      ['mesh.png', 'output', 'image/png'],
      ...SYSTEM_FILES.map((f) => [`system/${f}`, 'input', 'text/plain']),
    ]);
    const dict = listed.find((a) => a.name === 'system/controlDict')!;
    expect(dict.sha256).toBe(sha(readFileSync('system/controlDict')));
    expect(listed.find((a) => a.name === 'mesh.png')!.metadata).toEqual({ view: 'xy' });
    expect((await client.listArtifacts(run.name!, { category: 'output' })).map((a) => a.name)).toEqual([
      'log.simpleFoam',
      'mesh.png',
    ]);

    const out = join(work, `download-${kind}`);
    const files = await client.getArtifactsAsFiles(run.name!, {
      path: out,
      category: 'input',
      startsWith: 'system/',
    });
    expect(files).toEqual(SYSTEM_FILES.map((f) => join(out, 'system', f)));
    expect(tree(out)).toEqual(SYSTEM_FILES.map((f) => `system/${f}`));
    for (const f of SYSTEM_FILES) {
      expect(readFileSync(join(out, 'system', f)).equals(readFileSync(join('system', f)))).toBe(true);
    }
    const one = await client.getArtifactAsFile(run.name!, 'log.simpleFoam', { path: out });
    expect(one).toBe(join(out, 'log.simpleFoam'));
    expect(readFileSync(one, 'utf8')).toBe('Time = 1\nsmoothSolver: Solving for Ux\n');
    const ends = await client.getArtifactsAsFiles(run.name!, {
      path: join(out, 'ends'),
      endsWith: 'Dict',
      contains: 'Mesh',
    });
    expect(ends).toEqual([
      join(out, 'ends', 'system', 'blockMeshDict'),
      join(out, 'ends', 'system', 'snappyHexMeshDict'),
    ]);
  });

  it('saves a mix of files and directories, and stores identical bytes once', async () => {
    const run = await newRun(`save-all-${kind}`);
    const before = (await blobEntries(blobs)).filter((e) => e.kind === 'blob').length;
    const saved = await run.saveAll(['log.simpleFoam', 'constant', 'system'], 'input', { concurrency: 3 });
    expect(saved.map((a) => a.name)).toEqual(['log.simpleFoam', 'transportProperties', ...SYSTEM_FILES]);
    // These bytes were all saved by the run before: no new blob.
    expect((await blobEntries(blobs)).filter((e) => e.kind === 'blob').length).toBe(before);
    const again = await run.save('log.simpleFoam', 'output');
    expect(again).toMatchObject({
      name: 'log.simpleFoam',
      category: 'output',
      sha256: sha(readFileSync('log.simpleFoam')),
    });
    expect((await blobEntries(blobs)).filter((e) => e.kind === 'blob').length).toBe(before);
    const fresh = join(work, `fresh-${kind}.bin`);
    writeFileSync(fresh, randomBytes(3000));
    await run.save(fresh, 'output');
    await run.save(fresh, 'output', { name: 'copy/fresh.bin' });
    expect((await blobEntries(blobs)).filter((e) => e.kind === 'blob').length).toBe(before + 1);
    await run.close();
    await client.deleteRun(run.name!);
    expect((await blobEntries(blobs)).filter((e) => e.kind === 'blob').length).toBe(before);
  });

  it.runIf(kind === 's3')(
    'streams a file larger than one part through the multipart upload and back',
    async () => {
      const run = await newRun('multipart');
      const big = join(work, 'big.bin');
      const data = randomBytes(12 * 1024 * 1024 + 17);
      writeFileSync(big, data);
      const saved = await run.save(big, 'output');
      expect(saved).toMatchObject({
        name: 'big.bin',
        size: data.length,
        sha256: sha(data),
        mimeType: 'application/octet-stream',
      });
      const back = await client.getArtifactAsFile(run.name!, 'big.bin', { path: join(work, 'big-back') });
      expect(sha(readFileSync(back))).toBe(sha(data));
      await run.close();
    },
  );

  it('saves JSON values and typed arrays as objects and reads them back', async () => {
    const run = await newRun(`objects-${kind}`);
    const params = { re: 100, solver: 'piso', tolerances: [1e-6, 1e-8], nested: { ok: true } };
    expect(await run.saveObject(params, 'input', 'params.json')).toMatchObject({
      mimeType: 'application/json',
    });
    const field = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10));
    const saved = await run.saveObject(field, 'output', 'fields/u.npy');
    expect(saved).toMatchObject({
      mimeType: 'application/x-npy',
      size: 128 + 8000,
      metadata: { dtype: '<f8', shape: [1000] },
    });
    await run.saveObject(Int32Array.from([1, -2, 3]), 'output', 'ids.npy');
    await run.saveObject(Buffer.from('raw bytes'), 'output', 'raw.bin');
    await run.close();
    expect(await client.getArtifactAsObject(run.name!, 'params.json')).toEqual(params);
    const back = (await client.getArtifactAsObject(run.name!, 'fields/u.npy')) as Float64Array;
    expect(back).toBeInstanceOf(Float64Array);
    expect(Array.from(back)).toEqual(Array.from(field));
    expect(Array.from((await client.getArtifactAsObject(run.name!, 'ids.npy')) as Int32Array)).toEqual([
      1, -2, 3,
    ]);
    expect(
      Buffer.from((await client.getArtifactAsObject(run.name!, 'raw.bin')) as Uint8Array).toString(),
    ).toBe('raw bytes');
    // The .npy header is what numpy.load expects: magic, version 1.0, a dict padded to 64 bytes.
    const file = await client.getArtifactAsFile(run.name!, 'fields/u.npy', { path: join(work, 'npy') });
    const head = readFileSync(file).subarray(0, 128).toString('latin1');
    expect(head.slice(0, 8)).toBe('\x93NUMPY\x01\x00');
    expect(head.slice(10).trimEnd()).toBe("{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }");
  });

  it('sends a streamed upload and a download again, whole, after a dropped connection and a 503', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(work, 'retried.bin');
    writeFileSync(file, bytes);
    // The first try of each transfer loses its connection, the second is answered 503, the third goes through.
    const proxy = await FaultProxy.start(url, {
      plan: ({ url: path }) => {
        if (!path.includes('/artifacts')) return { kind: 'forward' };
        const tries = proxy.requests.filter((r) => r.url === path).length;
        return tries === 0
          ? { kind: 'drop' }
          : tries === 1
            ? { kind: 'status', status: 503 }
            : { kind: 'forward' };
      },
    });
    const run = await new Run()
      .config({ url: proxy.url, token: ADMIN_TOKEN, ...quiet })
      .init({ name: `retried-${kind}` });
    try {
      expect(await run.save(file, 'output')).toMatchObject({ size: bytes.length, sha256: sha(bytes) });
      const down = await new Client({ url: proxy.url, token: ADMIN_TOKEN }).getArtifactAsFile(
        run.name!,
        'retried.bin',
        { path: join(work, 'retried') },
      );
      expect(readFileSync(down).equals(bytes)).toBe(true);
      expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.fault)).toEqual([
        'drop',
        'status',
        'forward',
      ]);
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/content')).length).toBe(3);
    } finally {
      await proxy.close();
      await run.close();
    }
  });
});

describe('artifact names and download safety', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'simscope-e2e-safety-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('names files by base name, or by their normalised path with preservePath', () => {
    expect(artifactNameFor('/data/case/system/controlDict')).toBe('controlDict');
    expect(artifactNameFor('system/controlDict', true)).toBe('system/controlDict');
    expect(artifactNameFor('./system//controlDict', true)).toBe('system/controlDict');
    expect(artifactNameFor('../data/a.txt', true)).toBe('data/a.txt');
    expect(artifactNameFor('a/../../../etc/passwd', true)).toBe('etc/passwd');
    expect(artifactNameFor('/abs/path/file', true)).toBe('abs/path/file');
    expect(() => artifactNameFor('bad\u0001name', true)).toThrow(
      "artifact name for 'bad\u0001name': must not contain control characters",
    );
    expect(() => artifactNameFor(`${'x'.repeat(300)}.txt`)).toThrow(
      'segments must be at most 255 characters',
    );
  });

  it('detects MIME types by extension, then by content', () => {
    expect(detectMimeType('a.csv', new Uint8Array())).toBe('text/csv');
    expect(detectMimeType('controlDict', Buffer.from('FoamFile {}'))).toBe('text/plain');
    expect(detectMimeType('frame', Buffer.from([0x89, 0x50, 0x4e, 0x47, 1]))).toBe('image/png');
    expect(detectMimeType('data.h5', Buffer.from([0]))).toBe('application/x-hdf5');
    expect(detectMimeType('checkpoint', Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d]))).toBe(
      'application/x-hdf5',
    );
    expect(detectMimeType('blob', Buffer.from([1, 0, 2]))).toBe('application/octet-stream');
    expect(detectMimeType('utf8', Buffer.from('température'))).toBe('text/plain');
  });

  it('refuses names given in code that break the rules, before sending anything', async () => {
    const run = new Run().config({ url: 'http://127.0.0.1:9', token: 'x', ...quiet });
    await expect(run.save('x', 'output')).rejects.toThrow('call init() before saving artifacts');
    const client = new Client({ url: 'http://127.0.0.1:9', token: 'x', retries: { total: 0 } });
    await expect(client.getArtifactAsFile('r', '../outside', { path: work })).rejects.toThrow(
      "artifact name '../outside': must not contain '.' or '..' segments",
    );
    await expect(client.getArtifactAsFile('r', '/etc/passwd', { path: work })).rejects.toThrow(
      "artifact name '/etc/passwd': must be relative (no leading '/')",
    );
  });

  describe('against a server that lies', () => {
    let server: Server;
    let client: Client;
    let url: string;
    const served: Record<string, { body: Buffer; etag: string; cutAt?: number; stallAt?: number }> = {};
    const ranges: (string | undefined)[] = [];
    let listing: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        const u = new URL(req.url!, 'http://x');
        if (u.pathname.endsWith('/artifacts')) {
          res.setHeader('content-type', 'application/json');
          const items = listing.map((name) => ({
            name,
            category: 'output',
            mimeType: 'text/plain',
            size: 1,
            sha256: '0',
            metadata: {},
            created: 0,
          }));
          res.end(JSON.stringify({ items, next: null }));
          return;
        }
        const file = served[u.searchParams.get('name') ?? ''];
        if (!file) {
          res.statusCode = 404;
          res.end('{"error":{"code":"not_found","message":"no"}}');
          return;
        }
        res.setHeader('etag', file.etag);
        ranges.push(req.headers.range && `${req.headers.range} if-range ${req.headers['if-range']}`);
        const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
        if (from > 0 && req.headers['if-range'] === file.etag) {
          res.statusCode = 206;
          res.setHeader('content-range', `bytes ${from}-${file.body.length - 1}/${file.body.length}`);
          res.end(file.body.subarray(from));
          return;
        }
        if (file.stallAt !== undefined) {
          // Some bytes, then nothing more, with the connection left open.
          res.setHeader('content-length', file.body.length);
          res.write(file.body.subarray(0, file.stallAt));
          return;
        }
        if (file.cutAt !== undefined) {
          // Half the bytes, then the connection drops.
          res.setHeader('content-length', file.body.length);
          res.write(file.body.subarray(0, file.cutAt), () => setTimeout(() => res.destroy(), 20));
          file.cutAt = undefined;
          return;
        }
        res.end(file.body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      client = new Client({ url, token: 'x' });
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('writes nothing when a listed name would escape the target directory', async () => {
      const target = join(work, 'inside');
      for (const name of ['ok.txt', '../escape.txt'])
        served[name] = { body: Buffer.from(name), etag: `"${sha(name)}"` };
      listing = ['ok.txt', '../escape.txt'];
      await expect(client.getArtifactsAsFiles('run', { path: target })).rejects.toThrow(
        `refusing to write artifact "../escape.txt": its name must not contain '.' or '..' segments`,
      );
      for (const name of ['/etc/evil', 'a\\..\\..\\evil', 'nul\u0000byte']) {
        listing = [name];
        await expect(client.getArtifactsAsFiles('run', { path: target })).rejects.toMatchObject({
          code: 'bad_request',
        });
      }
      expect(existsSync(target)).toBe(false);
      expect(existsSync(join(work, 'escape.txt'))).toBe(false);
    });

    it('refuses to follow a link out of the target directory', async () => {
      const target = join(work, 'linked');
      const outside = join(work, 'outside');
      mkdirSync(target);
      mkdirSync(outside);
      symlinkSync(outside, join(target, 'system'));
      served['system/controlDict'] = { body: Buffer.from('dict'), etag: `"${sha('dict')}"` };
      await expect(client.getArtifactAsFile('run', 'system/controlDict', { path: target })).rejects.toThrow(
        'a link in its path leads outside',
      );
      expect(readdirSync(outside)).toEqual([]);
    });

    it('resumes a download that breaks off with a Range request, and checks the whole', async () => {
      const body = randomBytes(3 * 1024 * 1024);
      served['resume.bin'] = { body, etag: `"${sha(body)}"`, cutAt: 1024 * 1024 + 5 };
      ranges.length = 0;
      const file = await client.getArtifactAsFile('run', 'resume.bin', { path: join(work, 'resumed') });
      expect(readFileSync(file).equals(body)).toBe(true);
      expect(ranges[0]).toBeUndefined();
      expect(ranges).toHaveLength(2);
      expect(ranges[1]).toMatch(new RegExp(`^bytes=\\d+- if-range "${sha(body)}"$`));
      expect(readdirSync(join(work, 'resumed'))).toEqual(['resume.bin']);
    });

    it('gives up on a download that stops moving, after the time limit, and keeps no file', async () => {
      const target = join(work, 'stalled');
      const body = randomBytes(256 * 1024);
      served['stall.bin'] = { body, etag: `"${sha(body)}"`, stallAt: 1000 };
      const impatient = new Client({ url, token: 'x', timeoutMs: 300 });
      const t0 = performance.now();
      const error = await impatient.getArtifactAsFile('run', 'stall.bin', { path: target }).catch((e) => e);
      expect(error.message).toMatch(/no progress for 300 ms/);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(readdirSync(target)).toEqual([]);
    });

    it('keeps no file when the bytes do not match their sha256', async () => {
      const target = join(work, 'mismatch');
      served['data.bin'] = { body: Buffer.from('tampered'), etag: `"${sha('original')}"` };
      const error = await client.getArtifactAsFile('run', 'data.bin', { path: target }).catch((e) => e);
      expect(error).toBeInstanceOf(ClientError);
      expect(error.code).toBe('checksum_mismatch');
      expect(readdirSync(target)).toEqual([]);
    });
  });
});

describe('artifact quota seen from the client', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let work: string;
  let url: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'simscope-e2e-quota-'));
    t = await openTestApp('sqlite', {
      blobs: new LocalBlobStore(join(work, 'blobs')),
      artifactQuota: 1_000_000,
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('is refused with quota_exceeded before the bytes are sent, small file or streamed', async () => {
    const run = await new Run().config({ url, token: ADMIN_TOKEN, ...quiet }).init({ name: 'quota' });
    const small = join(work, 'small.bin');
    writeFileSync(small, randomBytes(600_000));
    expect(await run.save(small, 'output')).toMatchObject({ size: 600_000 });
    for (const size of [500_000, 3 * 1024 * 1024]) {
      const file = join(work, `over-${size}.bin`);
      writeFileSync(file, randomBytes(size));
      const error = await run.save(file, 'output').catch((e) => e);
      expect(error).toBeInstanceOf(ClientError);
      expect(error).toMatchObject({ code: 'quota_exceeded', status: 413 });
      expect(error.message).toBe(
        `PUT /runs/${run.id}/artifacts: 413 saving 'over-${size}.bin' (${size} bytes) would exceed this workspace's artifact quota of 1000000 bytes (600000 used)`,
      );
    }
    // The same bytes again fit: they are stored already.
    expect(await run.save(small, 'output', { name: 'copy.bin' })).toMatchObject({ size: 600_000 });
    await run.close();
    expect(tree(join(work, 'blobs'))).toHaveLength(1);
  });
});
