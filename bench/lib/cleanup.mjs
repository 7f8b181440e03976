// Cleanup for benchmarks: every child process and temp dir a bench creates is registered here
// and removed on normal exit, on an error, and on SIGINT/SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set();
const dirs = new Set();
const hooks = [];
let installed = false;
let cleaned = false;

function killAll(signal) {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill(signal);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Synchronous last-resort cleanup: SIGKILL every live child, remove every temp dir. */
function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of hooks.splice(0)) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
  killAll('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function install() {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, cleaning up`);
      cleanupSync();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('bench: failed:', err?.stack ?? err);
    cleanupSync();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    console.error('bench: failed:', err?.stack ?? err);
    cleanupSync();
    process.exit(1);
  });
}

/** Registers a child process: it is killed when the bench exits, however it exits. */
export function trackChild(child) {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A fresh temp dir that is removed when the bench exits. */
export function tempDir(prefix) {
  install();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Removes a temp dir now (and forgets it). */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** A synchronous function run at exit before children are killed. */
export function onCleanup(fn) {
  install();
  hooks.push(fn);
}

/**
 * Stops a child: `signal` (default SIGTERM), then SIGKILL after `graceMs`. Resolves with
 * { code, signal, ms } once it has exited.
 */
export function stopChild(child, { signal = 'SIGTERM', graceMs = 10_000 } = {}) {
  const started = performance.now();
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode, ms: 0 });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, ms: performance.now() - started });
    });
    child.kill(signal);
  });
}
