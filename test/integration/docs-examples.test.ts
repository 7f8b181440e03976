/**
 * Examples are tests: every fenced block of README.md and docs/*.md that is meant to run is run
 * here, so that an example that drifts from the product fails `npm test`.
 *
 * - `sh` blocks run with bash (`-e -o pipefail`) against a real `beacon server` started for their
 *   file, in one working directory per file, blocks in document order. `beacon` is bin/beacon;
 *   `curl` fails on an HTTP error (`--fail-with-body`), so an example that gets a 4xx fails.
 * - `ts` blocks are complete programs: they are type-checked (strict) in the consumer project
 *   that the file's `setup` block creates as the docs tell a service to, then run with node.
 * - `json` blocks must parse; a `file` marker writes one where the examples run, a
 *   `server-config` marker starts `beacon server --config` with it.
 * - Other blocks (`console` transcripts, output samples) are not run.
 *
 * The documented addresses 127.0.0.1:8500 and :8600 (and localhost:8500) are replaced with the
 * test server's, and BEACON_HTTP_ADDR names it. The test runs offline: `npm install` of a
 * registry package links it from this checkout's node_modules (test/helpers/doc-npm-shim.mjs);
 * `npm install <path>` is the real npm. Markers (test/helpers/doc-blocks.ts) skip a block with a
 * reason, or say how a block is used.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docBlocks, KIND_OF_LANG, type CodeBlock } from '../helpers/doc-blocks.js';
import { BEACON_BIN, REPO_ROOT, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { ensureTool } from '../helpers/tools.js';

const DOCS = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program; killed (and reported) after `timeoutMs`. */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[docs test: killed after ${opts.timeoutMs / 1000} s]`;
      // The whole process group: a block's background jobs too.
      if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL');
    }, opts.timeoutMs);
    proc.once('error', reject);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const report = (block: CodeBlock, r: Run) => `${block.doc}:${block.line} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The tools the shell blocks call, first on their PATH: beacon, curl that fails on HTTP errors, npm that links registry packages. */
function toolsDir(dir: string): string {
  const bin = join(dir, '.doc-test-bin');
  mkdirSync(bin, { recursive: true });
  const curl = ensureTool('curl', 'curl');
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script('beacon', `exec "${process.execPath}" "${BEACON_BIN}" "$@"`);
  script('curl', `exec "${curl}" --fail-with-body "$@"`);
  script('npm', `exec "${process.execPath}" "${join(REPO_ROOT, 'test', 'helpers', 'doc-npm-shim.mjs')}" "$@"`);
  return bin;
}

const realNpm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();

/** The example's code with the documented default addresses replaced by the test server's. */
function localize(code: string, server: RunningServer): string {
  return code
    .replace(/\b(127\.0\.0\.1|localhost):8500\b/g, `127.0.0.1:${server.httpPort}`)
    .replace(/\b127\.0\.0\.1:8600\b/g, `127.0.0.1:${server.dnsPort}`)
    .replace(/-p 8600\b/g, `-p ${server.dnsPort}`);
}

for (const doc of DOCS) {
  const blocks = docBlocks(REPO_ROOT, doc).filter((b) => KIND_OF_LANG[b.lang] !== undefined);
  if (blocks.length === 0) continue;
  const runnable = (b: CodeBlock) => b.marker?.kind !== 'skip';
  const setups = blocks.filter((b) => b.marker?.kind === 'setup');
  const files = blocks.filter((b) => b.marker?.kind === 'file');
  const programs = blocks.filter((b) => KIND_OF_LANG[b.lang] === 'typescript' && runnable(b));
  const rest = blocks.filter((b) => runnable(b) && !setups.includes(b) && !files.includes(b));
  const needsServer = blocks.some((b) => runnable(b) && KIND_OF_LANG[b.lang] !== 'json');

  describe(`examples of ${doc}`, () => {
    let server: RunningServer;
    let dir: string;
    /** Where the blocks run: the file's directory, or where its setup block ended. */
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    const slug = doc.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const programFile = (b: CodeBlock) => `${slug}-L${b.line}`;

    beforeAll(async () => {
      dir = tempDir('beacon-docs-');
      cwd = join(dir, 'work');
      mkdirSync(cwd);
      // `npm install ../beacon`, as the docs put it, from a directory next to the checkout.
      symlinkSync(REPO_ROOT, join(cwd, 'beacon'), 'dir');
      if (needsServer) {
        if (blocks.some((b) => runnable(b) && /\bdig\b/.test(b.code))) ensureTool('dig', 'dnsutils');
        server = await startServer({});
      }
      const inherited = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && !k.startsWith('BEACON_') && !k.startsWith('CONSUL_')),
      );
      env = {
        ...inherited,
        PATH: `${toolsDir(dir)}:${process.env.PATH ?? ''}`,
        DOC_TEST_REAL_NPM: realNpm,
        DOC_TEST_CHECKOUT: REPO_ROOT,
        // `npm install ../beacon` would run the checkout's prepare script (npm run build): dist/
        // is built already (npm test builds first), and rebuilding it here would rewrite the files
        // other test files are starting servers from at that moment.
        npm_config_ignore_scripts: 'true',
        ...(server ? { BEACON_HTTP_ADDR: `127.0.0.1:${server.httpPort}` } : {}),
      };
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    // A block that cannot run here (it runs until Ctrl-C, deploys to several hosts, ...) is
    // listed by name with its reason, as a test that holds it to having one; nothing is skipped.
    for (const b of blocks.filter((x) => !runnable(x))) {
      const reason = b.marker?.kind === 'skip' ? b.marker.reason : '';
      it(`${doc}:${b.line} (${b.lang}) is not run, and says why: ${reason}`, () => {
        expect(reason.trim().length, `${doc}:${b.line}: a doc-test skip marker needs a reason`).toBeGreaterThan(0);
      });
    }

    for (const b of setups) {
      it(`${doc}:${b.line}: the setup block runs`, async () => {
        const pwdFile = join(dir, '.doc-test-pwd');
        const r = await run('bash', ['-e', '-o', 'pipefail', '-c', `${localize(b.code, server)}\npwd > '${pwdFile}'`], { cwd, env, timeoutMs: 240_000 });
        expect(r.code, report(b, r)).toBe(0);
        cwd = readFileSync(pwdFile, 'utf8').trim();
      }, 300_000);
    }

    for (const b of files) {
      it(`${doc}:${b.line}: is the file ${b.marker?.kind === 'file' ? b.marker.name : ''}`, () => {
        if (b.lang === 'json') JSON.parse(b.code);
        writeFileSync(join(cwd, b.marker?.kind === 'file' ? b.marker.name : ''), b.code);
      });
    }

    if (programs.length > 0) {
      it(`the TypeScript examples of ${doc} type-check (strict) in the consumer project`, async () => {
        expect(setups, `${doc} has TypeScript examples but no setup block creating the project they compile in`).not.toHaveLength(0);
        mkdirSync(join(cwd, 'src'), { recursive: true });
        for (const b of programs) writeFileSync(join(cwd, 'src', `${programFile(b)}.ts`), localize(b.code, server));
        const tsc = await run(process.execPath, [join(cwd, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd, env, timeoutMs: 240_000 });
        // tsc names files as src/<doc>-L<line of the fence>.ts(<line in the block>,<column>).
        expect(tsc.code, `tsc in the consumer project:\n${tsc.stdout}${tsc.stderr}`).toBe(0);
      }, 300_000);
    }

    for (const b of rest) {
      const kind = KIND_OF_LANG[b.lang];
      it(`${doc}:${b.line} (${b.lang}) runs`, async () => {
        if (kind === 'json') {
          const config = JSON.parse(b.code) as { services?: { Name?: string }[] };
          if (b.marker?.kind !== 'server-config') return;
          const file = join(dir, 'beacon-config.json');
          writeFileSync(file, b.code);
          const configured = await startServer({ dnsAddr: 'off', args: ['--config', file, ...b.marker.flags] });
          try {
            const services = (await (await fetch(`${configured.httpUrl}/v1/agent/services`)).json()) as Record<string, { Service: string }>;
            expect(Object.values(services).map((s) => s.Service)).toEqual(expect.arrayContaining((config.services ?? []).map((s) => s.Name)));
          } finally {
            await configured.stop();
          }
          return;
        }
        const r =
          kind === 'shell'
            ? await run('bash', ['-e', '-o', 'pipefail', '-c', localize(b.code, server)], { cwd, env, timeoutMs: 60_000 })
            : await run(process.execPath, [join('dist', `${programFile(b)}.js`)], { cwd, env, timeoutMs: 60_000 });
        expect(r.code, report(b, r)).toBe(0);
        if (b.marker?.kind === 'prints') expect(r.stdout, report(b, r)).toContain(b.marker.text);
      }, 90_000);
    }
  });
}
