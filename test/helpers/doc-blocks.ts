/**
 * The fenced code blocks of a Markdown file, with the `doc-test` marker that may precede each
 * (an HTML comment on the line right before the fence, invisible when rendered):
 *
 * - `<!-- doc-test: skip (why) -->` — not run; the reason is required.
 * - `<!-- doc-test: setup -->` — a shell block run before the others of its file; the directory
 *   it ends in is where the file's later blocks run (a project it created, say).
 * - `<!-- doc-test: file NAME -->` — the block is the content of file NAME in that directory.
 * - `<!-- doc-test: server-config [FLAGS] -->` — a JSON config that `beacon server --config`
 *   (with FLAGS) must start with.
 * - `<!-- doc-test: prints "TEXT" -->` — the example's output must contain TEXT.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Marker =
  | { kind: 'skip'; reason: string }
  | { kind: 'setup' }
  | { kind: 'file'; name: string }
  | { kind: 'server-config'; flags: string[] }
  | { kind: 'prints'; text: string };

export interface CodeBlock {
  /** Path of the Markdown file, relative to the repository. */
  readonly doc: string;
  /** Line of the opening fence (from 1). */
  readonly line: number;
  /** The fence's language: `sh`, `ts`, `json`, `console`, '' … */
  readonly lang: string;
  readonly code: string;
  readonly marker: Marker | undefined;
}

/** How a block of each language is tested; any other language is a transcript or an illustration, not run. */
export const KIND_OF_LANG: Readonly<Record<string, 'shell' | 'typescript' | 'json'>> = {
  sh: 'shell',
  bash: 'shell',
  shell: 'shell',
  ts: 'typescript',
  typescript: 'typescript',
  json: 'json',
};

/** Parses the text of a `doc-test:` marker; throws on one it does not know, so that a typo cannot skip a check. */
export function parseMarker(text: string, where: string): Marker {
  let m: RegExpExecArray | null;
  if ((m = /^skip \((.+)\)$/.exec(text))) return { kind: 'skip', reason: m[1] };
  if (text === 'setup') return { kind: 'setup' };
  if ((m = /^file (\S+)$/.exec(text))) return { kind: 'file', name: m[1] };
  if ((m = /^server-config((?: --?[\w-]+(?:=\S+)?)*)$/.exec(text))) return { kind: 'server-config', flags: m[1].split(' ').filter(Boolean) };
  if ((m = /^prints ("(?:[^"\\]|\\.)*")$/.exec(text))) return { kind: 'prints', text: JSON.parse(m[1]) as string };
  throw new Error(`${where}: unknown doc-test marker "${text}" (skip (why), setup, file NAME, server-config [FLAGS], prints "TEXT")`);
}

/**
 * The fenced blocks of `text` (the Markdown file `doc`), top-level fences only.
 *
 * @example
 * codeBlocks('README.md', '<!-- doc-test: skip (slow) -->\n```sh\nnpm test\n```\n');
 * // [{ doc: 'README.md', line: 2, lang: 'sh', code: 'npm test\n', marker: { kind: 'skip', reason: 'slow' } }]
 */
export function codeBlocks(doc: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith(fence)) end++;
    if (end >= lines.length) throw new Error(`${doc}:${i + 1}: code block never closed`);
    const markerText = /^<!--\s*doc-test:\s*(.*?)\s*-->$/.exec(lines[i - 1] ?? '')?.[1];
    out.push({
      doc,
      line: i + 1,
      lang: open[2].toLowerCase(),
      code: lines.slice(i + 1, end).join('\n') + '\n',
      marker: markerText === undefined ? undefined : parseMarker(markerText, `${doc}:${i}`),
    });
    i = end;
  }
  return out;
}

/** The code blocks of a Markdown file of the repository. */
export function docBlocks(root: string, doc: string): CodeBlock[] {
  return codeBlocks(doc, readFileSync(join(root, doc), 'utf8'));
}
