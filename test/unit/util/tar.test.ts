import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarFiles } from '../../../src/util/tar.js';
import { runOk } from '../../../src/util/exec.js';

test('the tar writer produces archives GNU tar extracts, with parent directories and modes', async () => {
  const buf = tarFiles([
    { path: '/etc/unbound/unbound.conf', content: Buffer.from('server:\n  interface: 0.0.0.0\n') },
    { path: 'usr/local/bin/hello', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-tar-'));
  const file = join(dir, 'a.tar');
  writeFileSync(file, buf);
  await runOk('tar', ['-x', '-C', dir, '-f', file]);
  assert.equal(readFileSync(join(dir, 'etc/unbound/unbound.conf'), 'utf8'), 'server:\n  interface: 0.0.0.0\n');
  assert.equal(statSync(join(dir, 'usr/local/bin/hello')).mode & 0o777, 0o755);
  assert.throws(() => tarFiles([{ path: 'x'.repeat(101), content: Buffer.alloc(0) }]), /longer than 100 bytes/);
});
