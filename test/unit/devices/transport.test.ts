// External-device sessions: option handling (one host key source, credentials only from the environment,
// a key file, privateKey or an agent; every problem named, no secret in any message or printout), and the
// real ssh2 path against an in-process SSH server on 127.0.0.1: pinned fingerprint and known_hosts accepted,
// a wrong key refused naming expected and received, password (env) and key authentication, exec results,
// exec timeout, closed sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../src/devices/keygen.js';
import {
  Secret, openSession, resolveDeviceOptions, type ExternalDeviceOptions, type ResolveEnv,
} from '../../../src/devices/transport.js';
import { HostKeyRefused, fingerprint, parsePublicKey } from '../../../src/devices/hostkey.js';
import { UserError } from '../../../src/util/errors.js';

const { Server, utils } = ssh2;
const hostKey = ed25519KeyPair('host');
const otherHost = ed25519KeyPair('other');
const clientKey = ed25519KeyPair('client');
const HOST_FP = fingerprint(parsePublicKey(hostKey.public)!.blob);
const OTHER_FP = fingerprint(parsePublicKey(otherHost.public)!.blob);
const PASSWORD = 'pw-Zq8-not-for-printing';
let server: InstanceType<typeof Server>;
let port = 0;
let dir = '';
/** Session channels the test server has open now, the most at once, and how many opens it refuses next. */
const channels = { open: 0, max: 0, refuse: 0 };

const fakeEnv = (env: Record<string, string>, files: Record<string, string> = {}, sockets: string[] = []): ResolveEnv => ({
  env,
  readFile: (p) => { if (p in files) return Buffer.from(files[p]!); throw Object.assign(new Error('nope'), { code: 'ENOENT' }); },
  exists: (p) => sockets.includes(p),
});
const base: ExternalDeviceOptions = { host: 'rtx1.example', username: 'admin', hostKeyFingerprint: HOST_FP, passwordEnv: 'RTX_PASSWORD' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsg-ssh-'));
  const clientPub = utils.parseKey(clientKey.public) as ssh2.ParsedKey;
  server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === 'admin' && ctx.password === PASSWORD) return ctx.accept();
      if (ctx.method === 'publickey' && ctx.username === 'admin' && ctx.key.data.equals(clientPub.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (clientPub.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      return ctx.reject(['password', 'publickey']);
    }).on('ready', () => {
      client.on('session', (accept, reject) => {
        if (channels.refuse > 0) { channels.refuse--; return reject(); }
        const session = accept();
        channels.open++;
        channels.max = Math.max(channels.max, channels.open);
        session.on('close', () => { channels.open--; });
        session.on('exec', (acc, _rej, info) => {
          const s = acc();
          if (info.command === 'hang') return; // never answers
          if (info.command === 'slow') {
            setTimeout(() => { s.write('slow\n'); s.exit(0); s.end(); }, 60);
            return;
          }
          s.write(`out:${info.command}\n`);
          s.stderr.write('err line\n');
          s.exit(info.command === 'fail' ? 3 : 0);
          s.end();
        });
      });
    }).on('error', () => { /* a refused client hangs up */ });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((res) => server.close(() => res()));
  rmSync(dir, { recursive: true, force: true });
});

test('options: exactly one host key source, valid fingerprints, at least one credential, all problems at once', () => {
  const e = fakeEnv({ RTX_PASSWORD: PASSWORD });
  const ok = resolveDeviceOptions(base, e);
  assert.deepEqual([ok.device, ok.host, ok.port, ok.username, ok.connectTimeoutMs, ok.readyTimeoutMs], ['rtx1.example', 'rtx1.example', 22, 'admin', 5000, 10000]);
  assert.deepEqual(ok.policy, { kind: 'fingerprint', fingerprints: [HOST_FP], source: 'hostKeyFingerprint' });
  assert.equal(ok.auth.password!.reveal(), PASSWORD);
  const msg = (o: ExternalDeviceOptions, env = e): string => {
    try { resolveDeviceOptions(o, env); } catch (err) { assert.ok(err instanceof UserError); return err.message; }
    return 'accepted';
  };
  assert.equal(msg({ host: 'r', username: 'u' }, fakeEnv({})),
    'cannot open SSH session to r (no host key to verify against: give hostKeyFingerprint (SHA256:…) or knownHostsFile (unverified connections are not offered); no credentials: give privateKeyFile, privateKeyEnv, agent (e.g. process.env.SSH_AUTH_SOCK) or passwordEnv)');
  assert.match(msg({ ...base, knownHostsFile: '/kh' }), /give hostKeyFingerprint or knownHostsFile, not both/);
  assert.match(msg({ ...base, hostKeyFingerprint: 'aa:bb:cc' }), /hostKeyFingerprint "aa:bb:cc" is not a SHA256 fingerprint/);
  assert.match(msg({ ...base, port: 70000, name: 'rtx1' }), /^cannot open SSH session to rtx1 \(port 70000 is out of range 1\.\.65535\)$/);
  assert.equal(msg(base, fakeEnv({})), 'cannot open SSH session to rtx1.example (passwordEnv: environment variable RTX_PASSWORD is not set)');
  assert.match(msg({ ...base, passwordEnv: 'not a name' }), /passwordEnv "not a name" is not an environment variable name/);
  assert.match(msg({ ...base, passwordEnv: undefined, agent: '' }), /agent socket path is empty \(is SSH_AUTH_SOCK set\?\)/);
  assert.match(msg({ ...base, passwordEnv: undefined, agent: '/run/agent.sock' }), /agent socket \/run\/agent\.sock does not exist/);
  assert.equal(resolveDeviceOptions({ ...base, passwordEnv: undefined, agent: '/run/agent.sock' }, fakeEnv({}, {}, ['/run/agent.sock'])).auth.agent, '/run/agent.sock');
  assert.match(msg({ ...base, privateKeyFile: '/nope', privateKeyEnv: 'K' }), /give one of privateKey, privateKeyFile, privateKeyEnv/);
  assert.match(msg({ ...base, passwordEnv: undefined, privateKeyFile: '/nope' }), /cannot read privateKeyFile \/nope \(ENOENT\)/);
  assert.match(msg({ ...base, passphraseEnv: 'PP' }, fakeEnv({ RTX_PASSWORD: 'x', PP: 'y' })), /passphraseEnv needs a private key/);
  const k = resolveDeviceOptions({ ...base, passwordEnv: undefined, privateKeyEnv: 'RTX_KEY', passphraseEnv: 'PP' }, fakeEnv({ RTX_KEY: clientKey.private, PP: 'y' }));
  assert.equal(String(k.auth.privateKey!.reveal()), clientKey.private);
  assert.equal(k.auth.passphrase!.reveal(), 'y');
  assert.equal(resolveDeviceOptions({ ...base, port: 2222 }, e).device, 'rtx1.example:2222');
});

test('options: known_hosts must hold a key for the host; algorithms follow its key types', () => {
  const line = `[rtx1.example]:2222 ${hostKey.public}`;
  const env = fakeEnv({ RTX_PASSWORD: 'x' }, { '/kh': `${line}\n` });
  const o: ExternalDeviceOptions = { ...base, hostKeyFingerprint: undefined, knownHostsFile: '/kh', port: 2222 };
  const r = resolveDeviceOptions(o, env);
  assert.equal(r.policy.kind, 'known-hosts');
  assert.deepEqual(r.algorithms, ['ssh-ed25519']);
  assert.throws(() => resolveDeviceOptions({ ...o, port: 22 }, env), /knownHostsFile \/kh has no key for rtx1\.example\)$/);
  assert.throws(() => resolveDeviceOptions({ ...o, knownHostsFile: '/missing' }, env), /cannot read knownHostsFile \/missing \(ENOENT\)/);
});

test('secrets never print: Secret and resolved options under inspect, String and JSON', () => {
  const r = resolveDeviceOptions({ ...base, privateKey: clientKey.private, passwordEnv: 'RTX_PASSWORD' }, fakeEnv({ RTX_PASSWORD: PASSWORD }));
  for (const text of [inspect(r, { depth: 10 }), JSON.stringify(r), String(r.auth.password), `${r.auth.privateKey}`]) {
    assert.ok(!text.includes(PASSWORD), text);
    assert.ok(!text.includes('PRIVATE KEY'), text);
  }
  assert.equal(JSON.stringify(new Secret('x')), '"[secret]"');
});

const local = (o: Partial<ExternalDeviceOptions> = {}): ExternalDeviceOptions => ({
  host: '127.0.0.1', port, username: 'admin', hostKeyFingerprint: HOST_FP, passwordEnv: 'TSG_TEST_PASSWORD', ...o,
});

test('a session to a pinned server: exec returns code, stdout and stderr; close ends it', async () => {
  process.env.TSG_TEST_PASSWORD = PASSWORD;
  const t0 = Date.now();
  const s = await openSession(local({ name: 'lo-device' }));
  const openMs = Date.now() - t0;
  try {
    assert.equal(s.device, 'lo-device');
    assert.deepEqual(await s.exec('show version'), { code: 0, stdout: 'out:show version\n', stderr: 'err line\n' });
    assert.equal((await s.exec('fail')).code, 3);
    await assert.rejects(s.exec('hang', { timeoutMs: 300 }), /^UserError: no answer to `hang` on lo-device within 300 ms \(no output\)$/);
    assert.equal((await s.exec('again')).code, 0, 'the session survives a timed-out command');
    const printed = inspect(s, { depth: 10 }) + JSON.stringify(s);
    assert.ok(!printed.includes(PASSWORD) && !printed.includes('PRIVATE KEY'), printed);
  } finally {
    await s.close();
  }
  await s.close(); // idempotent
  await assert.rejects(s.exec('x'), /cannot run `x` on lo-device: the SSH session is closed/);
  assert.ok(openMs < 5000, `opened in ${openMs} ms`);
});

test('channels: at most 4 commands run at once on a session, the rest wait; a refused channel is asked for again, a bounded number of times', async () => {
  process.env.TSG_TEST_PASSWORD = PASSWORD;
  const s = await openSession(local({ name: 'lo-device' }));
  try {
    channels.max = 0;
    const results = await Promise.all(Array.from({ length: 10 }, () => s.exec('slow')));
    assert.deepEqual(results.map((r) => r.stdout), Array(10).fill('slow\n'));
    assert.ok(channels.max >= 2 && channels.max <= 4, `at most 4 channels at once, saw ${channels.max}`);
    channels.refuse = 2;
    assert.equal((await s.exec('after refusals')).stdout, 'out:after refusals\n');
    assert.equal(channels.refuse, 0);
    channels.refuse = 10;
    await assert.rejects(s.exec('never'), /^UserError: cannot run `never` on lo-device \(\(SSH\) Channel open failure: .*, 4 attempts\)$/);
    assert.equal(channels.refuse, 6, 'four opens asked for, no more');
    channels.refuse = 0;
    assert.equal((await s.exec('again')).code, 0, 'the session is still usable');
  } finally {
    await s.close();
  }
});

test('key authentication, and known_hosts with a hashed [127.0.0.1]:port entry', async () => {
  const keyFile = join(dir, 'id');
  writeFileSync(keyFile, clientKey.private, { mode: 0o600 });
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `# lab\n[127.0.0.1]:${port} ${hostKey.public}\n`);
  const s = await openSession(local({ hostKeyFingerprint: undefined, knownHostsFile: kh, passwordEnv: undefined, privateKeyFile: keyFile }));
  assert.equal((await s.exec('k')).stdout, 'out:k\n');
  await s.close();
});

test('a wrong host key is refused before authentication, naming expected and received fingerprints', async () => {
  process.env.TSG_TEST_PASSWORD = PASSWORD;
  await assert.rejects(openSession(local({ name: 'rtx1', hostKeyFingerprint: OTHER_FP })), (e: Error) => {
    assert.ok(e instanceof HostKeyRefused, String(e));
    assert.equal(e.message.split('; hint: ')[0],
      `cannot open SSH session to rtx1 (host key mismatch (pinned in hostKeyFingerprint): expected ${OTHER_FP}, received ${HOST_FP}); the connection was refused`);
    return true;
  });
  const kh = join(dir, 'known_hosts_other');
  writeFileSync(kh, `[127.0.0.1]:${port} ${otherHost.public}\n`);
  await assert.rejects(openSession(local({ hostKeyFingerprint: undefined, knownHostsFile: kh })),
    new RegExp(`host key mismatch \\(known in ${kh.replace(/[/.]/g, '\\$&')}\\): expected ${OTHER_FP.replace(/[+/]/g, '\\$&')} \\(ssh-ed25519, ${kh.replace(/[/.]/g, '\\$&')}:1\\), received ${HOST_FP.replace(/[+/]/g, '\\$&')}`));
});

test('a wrong password is an authentication failure that never shows the password', async () => {
  process.env.TSG_TEST_PASSWORD = 'wrong-password-123';
  await assert.rejects(openSession(local({ name: 'rtx1' })), (e: Error) => {
    assert.equal(e.message, 'cannot open SSH session to rtx1 (authentication as admin failed: every offered credential was refused)');
    assert.ok(!e.message.includes('wrong-password-123'));
    return true;
  });
  await assert.rejects(openSession(local({ host: '127.0.0.1', port: 1, name: 'closed' })), /^UserError: cannot open SSH session to closed \(no TCP connection to 127\.0\.0\.1:1: ECONNREFUSED\)$/);
});
