// The malformed-topology corpus: every file in test/fixtures/bad-topologies starts with its exact
// expected error lines (`# expect: …`, in order); loading it must fail with exactly those lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserErrors } from '../../../src/util/errors.js';
import { loadTopology } from '../../../src/topology/load.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
process.chdir(root); // messages name the file as given: relative to the repository
const dir = 'test/fixtures/bad-topologies';
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the corpus has at least 24 malformed files', () => {
  assert.ok(files.length >= 24, `only ${files.length} files`);
});

for (const f of files) {
  const rel = `${dir}/${f}`;
  test(`bad topology ${f}`, async () => {
    const expected = readFileSync(rel, 'utf8').split('\n')
      .filter((l) => l.startsWith('# expect: '))
      .map((l) => l.slice('# expect: '.length));
    assert.ok(expected.length > 0, `${rel} has no '# expect:' line`);
    await assert.rejects(loadTopology(rel), (e: unknown) => {
      assert.ok(e instanceof UserErrors, `expected UserErrors, got ${String(e)}`);
      assert.deepEqual(e.errors, expected);
      assert.equal(e.message, expected.join('\n'));
      return true;
    });
  });
}

test('a file over 1 MiB is refused before it is parsed, naming its size', async () => {
  const { readText, MAX_FILE_BYTES } = await import('../../../src/topology/load.js');
  const big = Buffer.alloc(MAX_FILE_BYTES + 1, 0x61);
  assert.throws(() => readText(big, 'big.yaml'), (e: unknown) => e instanceof UserErrors
    && e.message === `big.yaml:1:1: the file is ${MAX_FILE_BYTES + 1} bytes; a topology is at most ${MAX_FILE_BYTES} bytes (1 MiB); hint: is this the right file?`);
  assert.equal(readText(Buffer.from('name: ok\n'), 'ok.yaml'), 'name: ok\n');
});
