// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file.
// Usage: node bench/lib/cpu-profile.mjs <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function shortPath(url) {
  if (!url) return '(native/vm)';
  const path = url.replace(/^file:\/\//, '');
  if (path.includes('/node_modules/')) return path.replace(/.*\/node_modules\//, 'node_modules/');
  return path.replace(/.*\/(dist|src|bench|test)\//, '$1/');
}

/** { total, byFunction: [[label, ms]], byFile: [[file, ms]] } from a parsed profile. */
export function summarizeProfile(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0)));
  const byFunction = new Map();
  const byFile = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const file = shortPath(url);
    const label = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(label, (byFunction.get(label) ?? 0) + us);
    const pkg = file.startsWith('node_modules/')
      ? file
          .split('/')
          .slice(0, file.split('/')[1].startsWith('@') ? 3 : 2)
          .join('/')
      : file;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
    total += us;
  }
  const sort = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000]);
  return { total: total / 1000, byFunction: sort(byFunction), byFile: sort(byFile) };
}

/** Prints the top entries of a profile (a file name or a parsed profile). */
export function printProfile(fileOrProfile, top = 25, title = '') {
  const profile = typeof fileOrProfile === 'string' ? JSON.parse(readFileSync(fileOrProfile, 'utf8')) : fileOrProfile;
  const s = summarizeProfile(profile);
  const pct = (ms) => `${((100 * ms) / s.total).toFixed(1).padStart(5)}%`;
  console.log(`\nCPU profile ${title || fileOrProfile}: ${(s.total / 1000).toFixed(1)} s sampled`);
  console.log('\nself time by function:');
  for (const [k, ms] of s.byFunction.slice(0, top)) console.log(`${pct(ms)}  ${k}`);
  console.log('\nself time by file / package:');
  for (const [k, ms] of s.byFile.slice(0, top)) console.log(`${pct(ms)}  ${k}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printProfile(process.argv[2], Number(process.argv[3] ?? 25));
