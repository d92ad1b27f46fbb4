// Host key checking without a network: fingerprints as OpenSSH prints them, public key lines, known_hosts
// (plain, [host]:port, hashed, wildcards, negation, @revoked, @cert-authority skipped), the verdicts and the
// refusal message naming device, expected and received fingerprints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519KeyPair } from '../../../src/devices/keygen.js';
import {
  HostKeyRefused, blobType, checkHostKey, fingerprint, hostKeyAlgorithms, hostMatches, isFingerprint, knownHostName, parseKnownHosts,
  parsePublicKey, type HostKeyPolicy,
} from '../../../src/devices/hostkey.js';
import { UserError } from '../../../src/util/errors.js';

const key = (comment = 'k') => ed25519KeyPair(comment).public;
const A = key('a');
const B = key('b');
const blobOf = (line: string): Buffer => parsePublicKey(line)!.blob;

test('fingerprint: the SHA256 form ssh-keygen -lf prints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-hk-'));
  try {
    writeFileSync(join(dir, 'k.pub'), `${A}\n`);
    const r = spawnSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fingerprint(blobOf(A)), r.stdout.split(' ')[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(isFingerprint(fingerprint(blobOf(A))));
  assert.ok(!isFingerprint('SHA256:short'));
  assert.ok(!isFingerprint('MD5:aa:bb'));
});

test('public key lines: type, blob and fingerprint; malformed ones refused', () => {
  const k = parsePublicKey(`${A} with a comment`)!;
  assert.equal(k.type, 'ssh-ed25519');
  assert.equal(blobType(k.blob), 'ssh-ed25519');
  assert.equal(parsePublicKey('ssh-ed25519'), undefined);
  assert.equal(parsePublicKey('ssh-rsa ' + A.split(' ')[1]), undefined, 'the type inside the blob must match');
  assert.equal(parsePublicKey('ssh-ed25519 !!!notbase64'), undefined);
});

test('known_hosts: host names, [host]:port, hashed entries, wildcards, negation', () => {
  assert.equal(knownHostName('r1', 22), 'r1');
  assert.equal(knownHostName('10.0.0.1', 2222), '[10.0.0.1]:2222');
  assert.ok(hostMatches('r1,10.0.0.1', '10.0.0.1', 22));
  assert.ok(!hostMatches('r1,10.0.0.1', '10.0.0.1', 2222), 'port 2222 is written [host]:2222');
  assert.ok(hostMatches('[10.0.0.1]:2222', '10.0.0.1', 2222));
  assert.ok(hostMatches('10.0.0.*', '10.0.0.7', 22));
  assert.ok(hostMatches('r?', 'R1', 22), 'case-insensitive, ? is one character');
  assert.ok(!hostMatches('10.0.0.*,!10.0.0.7', '10.0.0.7', 22), 'a negated match wins');
  assert.ok(!hostMatches('!10.0.0.7', '10.0.0.8', 22), 'a negation alone matches nothing');
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.1]:2222').digest('base64')}`;
  assert.ok(hostMatches(hashed, '10.0.0.1', 2222));
  assert.ok(!hostMatches(hashed, '10.0.0.1', 22));
  assert.ok(!hostMatches('a.b', 'aXb', 22), 'a dot is a dot');
});

test('known_hosts parsing: comments, markers, malformed lines', () => {
  const text = [
    '# comment',
    '',
    `r1,10.0.0.1 ${A}`,
    `@revoked r2 ${B}`,
    `@cert-authority *.example ${B}`,
    'garbage line',
    `r3 ssh-rsa ${A.split(' ')[1]}`,
  ].join('\n');
  const e = parseKnownHosts(text);
  assert.deepEqual(e.map((x) => [x.line, x.marker, x.hosts, x.type]), [[3, undefined, 'r1,10.0.0.1', 'ssh-ed25519'], [4, 'revoked', 'r2', 'ssh-ed25519']]);
});

test('verdicts: a pinned fingerprint, known_hosts match / mismatch / unknown host / revoked', () => {
  const fpA = fingerprint(blobOf(A));
  const fpB = fingerprint(blobOf(B));
  const pin: HostKeyPolicy = { kind: 'fingerprint', fingerprints: [fpA], source: 'the inventory' };
  assert.deepEqual(checkHostKey(pin, blobOf(A)), { ok: true, fingerprint: fpA });
  assert.deepEqual(checkHostKey(pin, blobOf(B)), { ok: false, received: fpB, expected: [fpA], reason: 'host key mismatch (pinned in the inventory)' });
  assert.equal(checkHostKey({ ...pin, fingerprints: [fpB, fpA] }, blobOf(A)).ok, true, 'any of several pinned keys');

  const entries = parseKnownHosts(`r1 ${A}\n@revoked r2 ${B}\nr2 ${A}\n`);
  const kh = (host: string): HostKeyPolicy => ({ kind: 'known-hosts', file: 'kh', host, port: 22, entries });
  assert.equal(checkHostKey(kh('r1'), blobOf(A)).ok, true);
  assert.deepEqual(checkHostKey(kh('r1'), blobOf(B)), { ok: false, received: fpB, expected: [`${fpA} (ssh-ed25519, kh:1)`], reason: 'host key mismatch (known in kh)' });
  assert.deepEqual(checkHostKey(kh('r9'), blobOf(A)), { ok: false, received: fpA, expected: [], reason: 'r9 is not in kh' });
  assert.deepEqual(checkHostKey(kh('r2'), blobOf(B)), { ok: false, received: fpB, expected: [], reason: 'host key is marked @revoked in kh:2' });
  assert.equal(checkHostKey(kh('r2'), blobOf(A)).ok, true);
  assert.deepEqual(hostKeyAlgorithms(kh('r1')), ['ssh-ed25519'], 'offer only what known_hosts can check');
  assert.equal(hostKeyAlgorithms(pin), undefined);
});

test('a refusal names the device, the expected and the received fingerprints', () => {
  const fpA = fingerprint(blobOf(A));
  const fpB = fingerprint(blobOf(B));
  const v = checkHostKey({ kind: 'fingerprint', fingerprints: [fpA], source: 'the ledger of lab x' }, blobOf(B));
  assert.equal(v.ok, false);
  const e = new HostKeyRefused('node r1 of lab x', v as Extract<typeof v, { ok: false }>);
  assert.ok(e instanceof UserError);
  assert.equal(e.message.split('; hint: ')[0],
    `cannot open SSH session to node r1 of lab x (host key mismatch (pinned in the ledger of lab x): expected ${fpA}, received ${fpB}); the connection was refused`);
  assert.equal(e.stack, e.message, 'no stack trace in reports');
});
