// ed25519KeyPair: every pair parses back (ssh2's own generator fails about 1 in 256, mscdex/ssh2#1513;
// 2000 pairs from it would hit that with a probability of 99.96 %).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../src/devices/keygen.js';

test('2000 ed25519 pairs: private and public keys all parse, the comment is kept', () => {
  for (let i = 0; i < 2000; i++) {
    const p = ed25519KeyPair(`k${i}`);
    const priv = ssh2.utils.parseKey(p.private);
    const pub = ssh2.utils.parseKey(p.public);
    assert.ok(!(priv instanceof Error), `private key ${i}: ${String(priv)}`);
    assert.ok(!(pub instanceof Error), `public key ${i}: ${String(pub)}`);
    assert.match(p.public, new RegExp(`^ssh-ed25519 [A-Za-z0-9+/=]+ k${i}$`));
  }
});
