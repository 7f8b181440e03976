/**
 * The web UI end to end: a real server process serves the built UI (npm run build) and headless
 * Chromium drives it. Services appear with the right counts, search filters as you type, a
 * service shows its checks and history, a TTL check turning critical shows without a reload, and
 * stopping the server shows the lost-contact banner. A screenshot of each view is saved (the
 * directory is printed). First, how the UI is served: redirects, types, caching, and the 404s
 * of other paths unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type RunningBrowser } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const shots = mkdtempSync(join(tmpdir(), 'beacon-ui-screenshots-'));

const put = async (base: string, path: string, body?: unknown): Promise<void> => {
  const res = await fetch(`${base}${path}`, { method: 'PUT', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${text}`);
};

describe('web UI', () => {
  let server: RunningServer;
  let chrome: RunningBrowser;
  let page: Page;
  let base: string;

  const shot = async (name: string) => {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };

  beforeAll(async () => {
    server = await startServer({ dnsAddr: 'off' });
    base = server.httpUrl;
    const svc = (Name: string, ID: string, Port: number, extra: object = {}) =>
      put(base, '/v1/agent/service/register', { Name, ID, Port, Check: { TTL: '30m', CheckID: `ttl:${ID}` }, ...extra });
    await svc('web', 'web1', 8001, { Tags: ['v2', 'edge'] });
    await svc('web', 'web2', 8002, { Tags: ['v2'] });
    await svc('web', 'web3', 8003, { Tags: ['v1'] });
    await svc('api', 'api1', 9001, { Meta: { team: 'payments' } });
    await svc('db', 'db1', 5432, { Tags: ['primary'], Meta: { team: 'storage' }, Weights: { Passing: 5, Warning: 1 } });
    for (const id of ['web1', 'web2', 'api1', 'db1']) await put(base, `/v1/agent/check/pass/ttl:${id}?note=ok`);
    await put(base, '/v1/agent/check/warn/ttl:db1?note=slow%20disk');
    chrome = await launchChromium();
    page = await chrome.context.newPage();
  }, 120_000);

  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
    console.log(`UI screenshots in ${shots}`);
  });

  it('is served at /ui/ with the right types and caching, / redirects there, and other paths keep their 404s', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const index = await fetch(`${base}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const js = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1];
    const asset = await fetch(`${base}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = asset.headers.get('etag')!;
    expect((await fetch(`${base}${js}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // A view's URL loads the page; a missing file is a 404; nothing refers to another host.
    expect((await fetch(`${base}/ui/services/web`)).headers.get('content-type')).toMatch(/^text\/html/);
    expect((await fetch(`${base}/ui/assets/missing.js`)).status).toBe(404);
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${base}/ui/`, { method: 'PUT' })).status).toBe(405);
    const unknown = await fetch(`${base}/v1/kvstore`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('');
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
  });

  it('lists services with their counts by health, and search and the health filter narrow it as you type', async () => {
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) external.push(r.url());
    });
    await page.goto(`${base}/ui/`);
    const web = page.locator('tr[data-service="web"]');
    await web.waitFor({ timeout: 30_000 });
    expect(await web.locator('.c.passing').textContent()).toBe('2');
    expect(await web.locator('.c.critical').textContent()).toBe('1');
    expect(await page.locator('tr[data-service="db"] .c.warning').textContent()).toBe('1');
    expect(await page.locator('tr[data-service="consul"]').count()).toBe(1);
    await shot('services');

    await page.getByLabel('Search services').fill('storage');
    await page.locator('tr[data-service="web"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').getAttribute('data-service')).toBe('db');
    await page.getByLabel('Search services').fill('edge');
    await page.locator('tr[data-service="web"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('tbody tr').count()).toBe(1);
    await shot('services-search');
    await page.getByLabel('Search services').fill('');
    await page.getByLabel('Filter by health').selectOption('critical');
    await page.locator('tr[data-service="db"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Filter by health').selectOption('all');
    // Sort by the critical count, worst first.
    await page.getByRole('button', { name: /Passing \/ warning \/ critical/ }).click();
    expect(await page.locator('tbody tr').first().getAttribute('data-service')).toBe('web');
    expect(external).toEqual([]);
  });

  it('opens a service with its instances, checks (critical first) and history', async () => {
    await page.locator('tr[data-service="web"] a').click();
    await page.waitForURL(`${base}/ui/services/web`);
    await page.locator('article[data-instance="web3"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('article.instance').first().getAttribute('data-instance')).toBe('web1');
    const web1 = page.locator('article[data-instance="web1"]');
    expect(await web1.textContent()).toContain(':8001');
    expect(await web1.locator('tr[data-check="ttl:web1"] .badge').textContent()).toBe('passing');
    expect(await web1.locator('tr[data-check="ttl:web1"] .output').textContent()).toBe('ok');
    expect(await page.locator('article[data-instance="web3"] tr[data-check="ttl:web3"] .badge').textContent()).toBe('critical');
    await page.locator('.timeline li.service-registered').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('.timeline li.check-status').count()).toBeGreaterThanOrEqual(2);
    await shot('service-web');
    await page.goto(`${base}/ui/services/db/test-node/db1`);
    await page.locator('article[data-instance="db1"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('article[data-instance="db1"]').textContent()).toContain('team=storage');
    expect(await page.locator('article[data-instance="db1"]').textContent()).toContain('passing 5, warning 1');
    await shot('instance-db1');
  });

  it('shows nodes with address, liveness and services, and the live feed', async () => {
    await page.goto(`${base}/ui/nodes`);
    const row = page.locator('tr[data-node="test-node"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('.badge').textContent()).toBe('passing');
    expect(await row.textContent()).toContain('127.0.0.1');
    expect(await row.textContent()).toContain('api');
    await shot('nodes');
    await page.goto(`${base}/ui/live`);
    await page.locator('.timeline li').first().waitFor({ timeout: 15_000 });
    // Opened directly, the live view follows the stream too: a new event shows without reload.
    await put(base, '/v1/agent/service/register', { Name: 'late', ID: 'late1', Port: 7000 });
    await page.locator('.timeline li.service-registered', { hasText: 'late/late1' }).waitFor({ timeout: 15_000 });
    await shot('live');
  });

  it('turns a row critical when its TTL check fails, without a reload', async () => {
    await page.goto(`${base}/ui/`);
    await page.locator('tr[data-service="api"].row-passing').waitFor({ timeout: 15_000 });
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    await put(base, '/v1/agent/check/fail/ttl:api1?note=connection%20refused');
    await page.locator('tr[data-service="api"].row-critical').waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-service="api"] .c.critical').textContent()).toBe('1');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await shot('services-api-critical');
    await page.setViewportSize({ width: 390, height: 800 });
    await shot('services-phone');
    await page.setViewportSize({ width: 1200, height: 800 });
  });

  it('says plainly when it has lost contact with the server', async () => {
    await page.locator('[data-testid="contact-lost"]').waitFor({ state: 'detached', timeout: 5_000 });
    const { dataDir, httpPort } = server;
    // The page's open event stream does not hold the shutdown up or fail it.
    expect(await server.stop({ keepData: true })).toBe(0);
    await page.locator('[data-testid="contact-lost"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="contact-lost"]').textContent()).toMatch(/Lost contact with the server/);
    await shot('lost-contact');
    // Back on the same address (and data): the page says so and shows the current state.
    server = await startServer({ dnsAddr: 'off', dataDir, httpAddr: `127.0.0.1:${httpPort}` });
    await page.locator('[data-testid="contact-back"]').waitFor({ timeout: 30_000 });
    await page.locator('tr[data-service="api"].row-critical').waitFor({ timeout: 15_000 });
    await shot('contact-back');
  });
});
