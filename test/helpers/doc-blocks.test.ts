import { describe, expect, it } from 'vitest';
import { codeBlocks, parseMarker } from './doc-blocks.js';

describe('codeBlocks', () => {
  it('finds fenced blocks with their language, line and marker', () => {
    const md = [
      '# T',
      '',
      '<!-- doc-test: skip (slow) -->',
      '```sh',
      'npm test',
      '```',
      '',
      '```',
      '$ beacon members',
      '```',
      '<!-- doc-test: prints "hi" -->',
      '```ts',
      "console.log('hi');",
      '```',
    ].join('\n');
    expect(codeBlocks('X.md', md)).toEqual([
      { doc: 'X.md', line: 4, lang: 'sh', code: 'npm test\n', marker: { kind: 'skip', reason: 'slow' } },
      { doc: 'X.md', line: 8, lang: '', code: '$ beacon members\n', marker: undefined },
      { doc: 'X.md', line: 12, lang: 'ts', code: "console.log('hi');\n", marker: { kind: 'prints', text: 'hi' } },
    ]);
  });

  it('refuses an unknown marker and an unclosed block, so that a typo cannot skip a check', () => {
    expect(() => codeBlocks('X.md', '<!-- doc-test: skp -->\n```sh\nx\n```\n')).toThrow(/unknown doc-test marker "skp"/);
    expect(() => codeBlocks('X.md', '```sh\nx\n')).toThrow(/X\.md:1: code block never closed/);
  });

  it('reads every marker', () => {
    expect(parseMarker('setup', 'x')).toEqual({ kind: 'setup' });
    expect(parseMarker('file tsconfig.json', 'x')).toEqual({ kind: 'file', name: 'tsconfig.json' });
    expect(parseMarker('server-config --enable-local-script-checks', 'x')).toEqual({ kind: 'server-config', flags: ['--enable-local-script-checks'] });
    expect(() => parseMarker('skip', 'x')).toThrow(/unknown/);
  });
});
