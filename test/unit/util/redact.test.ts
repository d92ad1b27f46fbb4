// Secret values never reach reports or logs: registered as they become known (SSH secrets from the
// environment, node env values with secret names), shown as *** wherever they occur.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSecret, addSecretEnv, redact, redactError } from '../../../src/util/redact.js';
import { Secret } from '../../../src/devices/transport.js';

test('registered values are shown as *** in any text; short values and ordinary variables are left alone', () => {
  addSecretEnv({ DB_PASSWORD: 's3cr3t-pw', API_TOKEN: 'tok-123456', GREETING: 'hello world', PIN: '12' });
  addSecret('ab');
  assert.equal(redact('login with s3cr3t-pw and tok-123456, say hello world, ab'), 'login with *** and ***, say hello world, ab');
  assert.equal(redact('diff:\n- password s3cr3t-pw\n+ password s3cr3t-pw2'), 'diff:\n- password ***\n+ password ***2');
});

test('an SSH secret from the environment is registered the moment it is read', () => {
  new Secret('the-device-password');
  assert.equal(redact('ssh: auth failed for the-device-password'), 'ssh: auth failed for ***');
});

test('errors keep their type, with message and stack redacted', () => {
  addSecret('hunter2-long');
  const e = redactError(new TypeError('bad hunter2-long here'));
  assert.ok(e instanceof TypeError);
  assert.equal(e.message, 'bad *** here');
  assert.doesNotMatch(e.stack ?? '', /hunter2-long/);
});
