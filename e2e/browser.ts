import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Debian's Chromium, which CI installs with apt (`chromium`). */
export const CHROMIUM = process.env.SIMSCOPE_CHROMIUM ?? '/usr/bin/chromium';

/** Folder for the screenshots the browser tests save (ignored by git). */
export const SCREENSHOTS = join(ROOT, 'e2e', 'screenshots');

// Without these Chromium reaches for update, sync and other services, and floods a closed network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Builds the web UI into `packages/web/dist` (Vite; a second or two), so the server serves the current one. */
export function buildWeb(): void {
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], {
      cwd: join(ROOT, 'packages', 'web'),
      stdio: 'pipe',
    });
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the web UI failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to make to anywhere but `origin` (all refused). */
  outside: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile, refusing every request that does not go to `origin`, so a test sees if the UI
 * reaches elsewhere.
 */
export async function openBrowser(origin: string, viewport = { width: 1280, height: 860 }): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'simscope-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    deviceScaleFactor: 1,
    acceptDownloads: true,
    colorScheme: 'light',
  });
  const outside: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    outside,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
