import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasFor, parseAlias, newRunId, inSession } from '../../../src/lab/labels.js';

test('an ifalias label round-trips and foreign aliases are not ours', () => {
  const owner = { lab: 'home-nat', run: newRunId() };
  assert.deepEqual(parseAlias(aliasFor(owner, 'link:client:eth1--lan')), { ...owner, what: 'link:client:eth1--lan' });
  assert.equal(parseAlias('uplink to core'), undefined);
  assert.equal(parseAlias('tsunagari'), undefined);
  assert.equal(parseAlias(undefined), undefined);
});

test('run ids are unique and sortable by time; TSUNAGARI_SESSION tags them (a malformed tag is ignored)', () => {
  const saved = process.env.TSUNAGARI_SESSION;
  try {
    delete process.env.TSUNAGARI_SESSION;
    const a = newRunId();
    const b = newRunId();
    assert.notEqual(a, b);
    assert.match(a, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
    process.env.TSUNAGARI_SESSION = 'ci-1a2b';
    const c = newRunId();
    assert.match(c, /^ci-1a2b\.\d{8}-\d{6}-[0-9a-f]{6}$/);
    assert.equal(inSession(c, 'ci-1a2b'), true);
    assert.equal(inSession(a, 'ci-1a2b'), false);
    assert.equal(inSession(c, 'ci-1a2'), false);
    process.env.TSUNAGARI_SESSION = '../x y';
    assert.match(newRunId(), /^\d{8}-\d{6}-[0-9a-f]{6}$/);
  } finally {
    if (saved === undefined) delete process.env.TSUNAGARI_SESSION; else process.env.TSUNAGARI_SESSION = saved;
  }
});
