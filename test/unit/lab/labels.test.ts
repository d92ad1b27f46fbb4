import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasFor, parseAlias, newRunId } from '../../../src/lab/labels.js';

test('an ifalias label round-trips and foreign aliases are not ours', () => {
  const owner = { lab: 'home-nat', run: newRunId() };
  assert.deepEqual(parseAlias(aliasFor(owner, 'link:client:eth1--lan')), { ...owner, what: 'link:client:eth1--lan' });
  assert.equal(parseAlias('uplink to core'), undefined);
  assert.equal(parseAlias('tsunagari'), undefined);
  assert.equal(parseAlias(undefined), undefined);
});

test('run ids are unique and sortable by time', () => {
  const a = newRunId();
  const b = newRunId();
  assert.notEqual(a, b);
  assert.match(a, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
});
