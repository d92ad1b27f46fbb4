// unifiedDiff (src/devices/diff.ts): equal texts give '', the format is diff -u's (checked against GNU
// diff on fixed cases), and for random edits the hunks applied to the old text give the new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { unifiedDiff, splitLines } from '../../../src/devices/diff.js';

/** Applies a unified diff to `a` (strict: context and deletions must match). */
function apply(a: string, diff: string): string {
  const src = splitLines(a);
  const out: string[] = [];
  let pos = 0;
  const lines = splitLines(diff).slice(2);
  for (let i = 0; i < lines.length;) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(lines[i]!);
    assert.ok(h, `hunk header expected: ${lines[i]}`);
    const len = h[2] === undefined ? 1 : Number(h[2]);
    const start = len === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (pos < start) out.push(src[pos++]!);
    i++;
    while (i < lines.length && !lines[i]!.startsWith('@@')) {
      const l = lines[i++]!;
      if (l[0] === ' ') { assert.equal(src[pos], l.slice(1)); out.push(src[pos++]!); }
      else if (l[0] === '-') { assert.equal(src[pos], l.slice(1)); pos++; }
      else if (l[0] === '+') out.push(l.slice(1));
      else assert.fail(`bad line ${l}`);
    }
  }
  while (pos < src.length) out.push(src[pos++]!);
  return out.length ? `${out.join('\n')}\n` : '';
}

test('equal texts: no diff', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n'), '');
  assert.equal(unifiedDiff('', ''), '');
});

test('the same hunks as GNU diff -u on fixed cases', (t) => {
  if (spawnSync('diff', ['--version']).status !== 0) { t.skip('GNU diff not installed'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-diff-'));
  try {
    const cases: Array<[string, string]> = [
      ['a\nb\nc\n', 'a\nB\nc\n'],
      ['1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n', '1\n2\nX\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n14\n15\n'],
      ['', 'new\n'],
      ['old\n', ''],
      ['x\ny\n', 'y\nz\n'],
    ];
    for (const [a, b] of cases) {
      writeFileSync(join(dir, 'a'), a);
      writeFileSync(join(dir, 'b'), b);
      const gnu = spawnSync('diff', ['-u', '--label', 'running', '--label', 'candidate', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' }).stdout;
      assert.equal(unifiedDiff(a, b), gnu, JSON.stringify([a, b]));
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('random edits: applying the diff to the old text gives the new text', () => {
  let seed = 42;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let k = 0; k < 300; k++) {
    const a = Array.from({ length: rnd(40) }, () => `l${rnd(12)}`);
    const b = [...a];
    for (let e = rnd(6); e > 0; e--) {
      const at = rnd(b.length + 1);
      if (rnd(2) && b.length) b.splice(Math.min(at, b.length - 1), 1); else b.splice(at, 0, `n${rnd(12)}`);
    }
    const A = a.length ? `${a.join('\n')}\n` : '';
    const B = b.length ? `${b.join('\n')}\n` : '';
    const d = unifiedDiff(A, B);
    assert.equal(d === '', A === B);
    if (d) assert.equal(apply(A, d), B, `case ${k}`);
  }
});
