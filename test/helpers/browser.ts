/**
 * Debian's Chromium driven by playwright-core, for the UI's end-to-end tests and its benchmark.
 * The browser is found (or installed by scripts/ensure-tools.sh, or here when running as root);
 * a missing browser fails the test with what to install, never skips it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ensureTool } from './tools.js';

export interface RunningBrowser {
  /** A fresh profile (--user-data-dir), removed on close. */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<RunningBrowser> {
  const executablePath = ensureTool('chromium', 'chromium');
  const profile = mkdtempSync(join(tmpdir(), 'beacon-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
