// Records one response from a server and replays it from a bare node:http child process.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { stopChild, tempDir, trackChild } from './cleanup.mjs';
import { pinned } from './machine.mjs';

const SCRIPT = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
/** Per-connection headers the bare server sets itself. */
const HOP = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/** Fetches `url` once: { status, headers (without hop-by-hop ones), body: Buffer }. */
export async function record(url) {
  const res = await request(url);
  const body = Buffer.from(await res.body.arrayBuffer());
  const headers = {};
  for (const [k, v] of Object.entries(res.headers)) if (!HOP.has(k)) headers[k] = v;
  return { status: res.statusCode, headers, body };
}

/** Starts a bare node:http server answering `rec` to every request; pinned like a server. */
export async function startBare(rec) {
  const file = join(tempDir('beacon-bench-bare-'), 'response.json');
  writeFileSync(file, JSON.stringify({ status: rec.status, headers: rec.headers, bodyBase64: rec.body.toString('base64') }));
  const [cmd, args] = pinned('server', process.execPath, [SCRIPT, file]);
  const proc = trackChild(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/bare ready (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return { proc, url: `http://127.0.0.1:${port}`, stop: () => stopChild(proc) };
}
