#!/usr/bin/env node
/**
 * `npm` as the documentation examples run it in the docs test (test/integration/docs-examples.test.ts),
 * which works offline: `npm install NAME@RANGE` of a registry package links NAME from the
 * checkout's node_modules instead of downloading it, after checking that the checkout's version
 * is in the major version asked for; every other npm command — `npm init`, `npm pkg`, `npm
 * install <path>` — is the real npm (with --offline). Links are made again after each real
 * install, which would otherwise prune them.
 *
 * Environment: DOC_TEST_REAL_NPM (the npm executable), DOC_TEST_CHECKOUT (the repository).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const realNpm = process.env.DOC_TEST_REAL_NPM;
const checkout = process.env.DOC_TEST_CHECKOUT;
if (!realNpm || !checkout) {
  process.stderr.write('doc-npm-shim: DOC_TEST_REAL_NPM and DOC_TEST_CHECKOUT must be set\n');
  process.exit(1);
}
const args = process.argv.slice(2);
const npm = (list) => spawnSync(realNpm, list, { stdio: 'inherit' }).status ?? 1;

if (!['install', 'i', 'add'].includes(args[0])) process.exit(npm(args));

const specs = args.slice(1).filter((a) => !a.startsWith('-'));
const flags = args.slice(1).filter((a) => a.startsWith('-'));
const isPath = (s) => s.startsWith('.') || s.startsWith('/') || s.startsWith('file:');
const linksFile = join(process.cwd(), '.doc-test-links.json');
const links = existsSync(linksFile) ? JSON.parse(readFileSync(linksFile, 'utf8')) : [];

for (const spec of specs.filter((s) => !isPath(s))) {
  const at = spec.lastIndexOf('@');
  const [name, range] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, ''];
  const manifest = join(checkout, 'node_modules', name, 'package.json');
  if (!existsSync(manifest)) {
    process.stderr.write(`npm install ${spec}: ${name} is not in the checkout's node_modules (the docs test links registry packages from there)\n`);
    process.exit(1);
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  const major = /^[\^~]?(\d+)/.exec(range)?.[1];
  if (major !== undefined && version.split('.')[0] !== major) {
    process.stderr.write(`npm install ${spec}: the checkout has ${name}@${version}, not major version ${major}\n`);
    process.exit(1);
  }
  if (!links.includes(name)) links.push(name);
}
writeFileSync(linksFile, JSON.stringify(links));

const paths = specs.filter(isPath);
if (paths.length > 0 || specs.length === 0) {
  const status = npm(['install', ...flags, ...paths, '--offline', '--no-audit', '--no-fund']);
  if (status !== 0) process.exit(status);
}
for (const name of links) {
  const target = join(process.cwd(), 'node_modules', name);
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target) || lstatSync(target, { throwIfNoEntry: false })) rmSync(target, { recursive: true, force: true });
  symlinkSync(join(checkout, 'node_modules', name), target, 'dir');
}
