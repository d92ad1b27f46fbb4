// FRR routers in a lab (test/fixtures/labs/frr.yaml): kind frr comes up with zebra/ospfd/… and sshd ready,
// the management network (bridge, namespace, mgmt0) is as the topology says, SSH sessions opened from the
// management namespace run vtysh and see OSPF reach Full, hosts on both LANs reach each other over
// OSPF-learned routes, a wrong pinned host key and a foreign client key are refused, and shutting mgmt0
// makes a NEW session fail within a bounded time (what commit-confirm relies on). FRR that does not start
// fails the lab naming node, daemon and log lines. Afterwards nothing of these labs is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ed25519KeyPair } from '../../src/devices/keygen.js';
import { loadTopology, parseTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up, type Progress } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { sshDir } from '../../src/lab/management.js';
import { FORWARDER, labSessionFactory, openLabSession } from '../../src/devices/transport.js';
import { HostKeyRefused } from '../../src/devices/hostkey.js';
import type { SshSession } from '../../src/devices/types.js';
import { UserError } from '../../src/util/errors.js';
import { run } from '../../src/util/exec.js';
import { labLeftovers, pings } from './helpers.js';

const ctx = new Context();
const LAB = 'frrlab';
const BAD = 'frrbad';
const FILE = 'test/fixtures/labs/frr.yaml';
const MGMT_NS = `tsunagari-${LAB}._mgmt`;
let running: RunningLab;
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Everything of our labs this machine could still hold (ours only: other people's labs run alongside). */
async function leftovers(): Promise<string[]> {
  return [...await labLeftovers(ctx, [LAB, BAD]), ...forwarders()];
}

/** Forwarder processes towards this lab's management addresses. */
function forwarders(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (cmd.includes(FORWARDER) && cmd.includes('172.31.61.')) out.push(`forwarder ${pid}: ${cmd.replace(/\0/g, ' ')}`);
  }
  return out;
}

/** Polls `fn` until it returns a value, or fails with the last observation after `ms`. */
async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>, seen: () => string): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > ms) assert.fail(`${what} not within ${ms / 1000} s; last seen:\n${seen()}`);
    await sleep(250);
  }
}

before(async () => {
  for (const lab of [LAB, BAD]) if (Ledger.read(lab)) await teardown(ctx, lab); // only ours, left by an interrupted run
  const services: string[] = [];
  const progress = (p: Progress): void => { if (p.phase === 'service' && p.status === 'done') services.push(`${p.name} ${p.ms} ms`); };
  const r = await up(ctx, await loadTopology(FILE), { progress });
  log(`lab ${LAB} up in ${r.ms} ms; FRR + sshd start to ready (incl. host key pinning): ${services.join(', ')}`);
  running = openLab(ctx, LAB);
});

after(async () => {
  await teardown(ctx, LAB);
  await teardown(ctx, BAD);
  assert.deepEqual(await leftovers(), [], 'nothing of the FRR labs is left');
});

test('FRR is up with the daemons of /etc/frr/daemons and frr.conf loaded', async () => {
  for (const [node, id] of [['r1', '10.61.255.1'], ['r2', '10.61.255.2']] as const) {
    const d = await running.exec(node, ['vtysh', '-c', 'show daemons']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.stdout.trim().split(/\s+/).sort(), ['bfdd', 'bgpd', 'ospfd', 'staticd', 'zebra'], `${node}: ${d.stdout}`);
    const c = await running.exec(node, ['vtysh', '-c', 'show running-config']);
    assert.match(c.stdout, new RegExp(`ospf router-id ${id.replace(/\./g, '\\.')}`), `${node} loaded fixtures/frr/pair/${node}.conf`);
  }
  // r1 got the default daemons file (the topology gave none), r2 the fixture: the same text
  const d1 = await running.exec('r1', ['cat', '/etc/frr/daemons']);
  assert.equal(d1.stdout, readFileSync('fixtures/frr/daemons', 'utf8'));
});

test('the management network: namespace with the gateway, mgmt0 with one route, host keys pinned', async () => {
  const m = running.lab.management!;
  assert.deepEqual({ subnet: m.subnet, gateway: m.gateway, netns: m.netns, defaulted: m.defaulted },
    { subnet: '172.31.61.0/24', gateway: '172.31.61.1/24', netns: MGMT_NS, defaulted: false });
  const gw = JSON.parse((await run('ip', ['-n', MGMT_NS, '-j', 'addr', 'show', 'dev', 'gw0'])).stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number; family: string }> }>;
  assert.deepEqual(gw[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['172.31.61.1/24']);
  for (const [node, addr] of [['r1', '172.31.61.2'], ['r2', '172.31.61.3']] as const) {
    const routes = JSON.parse((await running.exec(node, ['ip', '-j', 'route', 'show', 'dev', 'mgmt0'])).stdout) as Array<{ dst: string }>;
    assert.deepEqual(routes.map((r) => r.dst), ['172.31.61.0/24'], `${node}: mgmt0 routes only the management subnet`);
    const def = (await running.exec(node, ['ip', 'route', 'show', 'default'])).stdout.trim();
    assert.equal(def, '', `${node} has no default route at all`);
    const a = (await running.exec(node, ['ip', '-br', '-4', 'addr', 'show', 'dev', 'mgmt0'])).stdout;
    assert.match(a, new RegExp(`${addr.replace(/\./g, '\\.')}/24`));
    const pinned = running.ledger.data.management!.hostKeys[node]!;
    assert.match(pinned.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const fp = await running.exec(node, ['ssh-keygen', '-lf', '/etc/ssh/ssh_host_ed25519_key.pub']);
    assert.equal(fp.stdout.split(' ')[1], pinned.fingerprint, `${node}: the pinned key is the one ssh-keygen shows`);
  }
  assert.notEqual(running.ledger.data.management!.hostKeys.r1!.fingerprint, running.ledger.data.management!.hostKeys.r2!.fingerprint, 'one host key per container');
  const keyFile = running.ledger.data.management!.clientKeyFile;
  assert.ok(keyFile.startsWith(sshDir(LAB)), keyFile);
  assert.equal((await run('stat', ['-c', '%a', keyFile])).stdout.trim(), '600');
  assert.doesNotMatch(JSON.stringify(running.ledger.data), /PRIVATE KEY/, 'the ledger names the key file, never the key');
  // the data plane cannot use the management network as a transit (h1 → r2's mgmt0 through r1)
  const h1 = await running.handle('h1');
  assert.equal(await pings(h1.netnsPath, '172.31.61.3', 1), false, 'h1 cannot reach r2 over the management network');
});

test('over SSH from the management namespace: vtysh shows the OSPF neighbour reaching Full', async () => {
  const opens: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    const s = await openLabSession(running, 'r1');
    opens.push(Date.now() - t0);
    await s.close();
  }
  log(`SSH session open (forwarder in the management namespace + handshake + auth): median ${median(opens)} ms of ${opens.join(', ')}`);
  await until('no forwarder left once the sessions are closed', 3000, async () => (forwarders().length ? undefined : true), () => forwarders().join('\n'));
  const s = await openLabSession(running, 'r1');
  try {
    assert.equal(s.device, 'node r1 of lab frrlab');
    let last = '';
    const full = await until('r1 sees OSPF neighbour 10.61.255.2 in state Full', 30_000, async () => {
      const r = await s.exec("vtysh -c 'show ip ospf neighbor'", { timeoutMs: 10_000 });
      assert.equal(r.code, 0, r.stderr);
      last = r.stdout;
      return /^10\.61\.255\.2\s+\d+\s+Full\/\S*\s+.*10\.61\.0\.2\s+eth2:10\.61\.0\.1/m.test(r.stdout) ? r.stdout : undefined;
    }, () => last);
    log(`OSPF Full after ${full.ms} ms of polling over SSH:\n${full.value.trim().split('\n').map((l) => `#   ${l}`).join('\n')}`);
    const who = await s.exec('echo $SSH_CONNECTION');
    assert.match(who.stdout, /^172\.31\.61\.1 \d+ 172\.31\.61\.2 22$/m, 'the session comes from the gateway in the management namespace to mgmt0');
    const fail = await s.exec('vtysh -c "show ip ospf nonsense"');
    assert.notEqual(fail.code, 0, 'exit codes come through');
    assert.match(fail.stdout + fail.stderr, /Unknown command|% /);
  } finally {
    await s.close();
  }
  await assert.rejects(s.exec('true'), /the SSH session is closed/);
});

test('hosts on both LANs reach each other over OSPF-learned routes', async () => {
  const s = await openLabSession(running, 'r1');
  let last = '';
  try {
    await until('r1 has an OSPF route to 10.61.2.0/24 via 10.61.0.2', 30_000, async () => {
      last = (await s.exec("vtysh -c 'show ip route ospf'")).stdout;
      return /^O>\* 10\.61\.2\.0\/24 \[110\/\d+\] via 10\.61\.0\.2, eth2/m.test(last) ? true : undefined;
    }, () => last);
  } finally {
    await s.close();
  }
  // and in r2's kernel the other way round (zebra installs what ospfd chose)
  await until('r2\'s kernel has an OSPF route to 10.61.1.0/24 via 10.61.0.1', 30_000, async () => {
    last = (await running.exec('r2', ['ip', 'route', 'show', '10.61.1.0/24'])).stdout;
    return /^10\.61\.1\.0\/24 (nhid \d+ )?via 10\.61\.0\.1 dev eth2 proto ospf/m.test(last) ? true : undefined;
  }, () => last);
  const h1 = await running.handle('h1');
  const h2 = await running.handle('h2');
  assert.ok(await pings(h1.netnsPath, '10.61.2.10', 5), 'h1 → h2');
  assert.ok(await pings(h2.netnsPath, '10.61.1.10', 5), 'h2 → h1');
  assert.ok(await pings(h1.netnsPath, '10.61.255.2', 3), 'h1 → r2 loopback (OSPF)');
});

test('a wrong pinned host key is refused, naming node, expected and received fingerprints', async () => {
  const keys = running.ledger.data.management!.hostKeys;
  const real = keys.r1!.fingerprint;
  const wrong = keys.r2!.fingerprint; // a real key, of the wrong router
  keys.r1 = { ...keys.r1!, fingerprint: wrong };
  try {
    await assert.rejects(openLabSession(running, 'r1'), (e: Error) => {
      assert.ok(e instanceof HostKeyRefused, String(e));
      assert.ok(e.message.startsWith(`cannot open SSH session to node r1 of lab frrlab (host key mismatch (pinned in the ledger of lab frrlab, read from r1 when it started): expected ${wrong}, received ${real}); the connection was refused`), e.message);
      return true;
    });
  } finally {
    keys.r1 = { ...keys.r1!, fingerprint: real };
  }
  const s = await openLabSession(running, 'r1');
  assert.equal((await s.exec('hostname')).stdout.trim(), 'r1');
  await s.close();
});

test('a client key other than the lab\'s is refused; non-managed nodes have no session', async () => {
  const state = running.ledger.data.management!;
  const own = state.clientKeyFile;
  const other = path.join(sshDir(LAB), 'other_ed25519');
  writeFileSync(other, ed25519KeyPair().private, { mode: 0o600 });
  state.clientKeyFile = other;
  try {
    await assert.rejects(openLabSession(running, 'r2'), /^UserError: cannot open SSH session to node r2 of lab frrlab \(authentication as root failed: every offered credential was refused\)|^cannot open SSH session to node r2 of lab frrlab \(authentication as root failed/);
  } finally {
    state.clientKeyFile = own;
  }
  await assert.rejects(openLabSession(running, 'h1'), /cannot open SSH session to node h1 of lab frrlab \(kind host is not managed\); managed nodes: r1, r2/);
  await assert.rejects(openLabSession(running, 'r9'), /unknown node r9 in lab frrlab; known: h1, r1, r2, h2/);
});

test('shutting mgmt0 over the session makes a NEW session fail within a bounded time', async () => {
  const sessions = labSessionFactory(running, 'r1', { connectTimeoutMs: 2000 });
  const s: SshSession = await sessions();
  // The command runs; its answer may never come back (the link it would travel on is down).
  const r = await s.exec('ip link set mgmt0 down', { timeoutMs: 3000 }).catch((e: Error) => e);
  log(`\`ip link set mgmt0 down\` over the session: ${r instanceof Error ? r.message : `exit ${r.code}`}`);
  const t0 = Date.now();
  await assert.rejects(sessions(), (e: Error) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, /^cannot open SSH session to node r1 of lab frrlab \(no TCP connection to 172\.31\.61\.2:22 from namespace tsunagari-frrlab\._mgmt: (ETIMEDOUT|EHOSTUNREACH)/);
    assert.match(e.message, /hint: is mgmt0 of r1 up with 172\.31\.61\.2\/24\?/);
    return true;
  });
  const failMs = Date.now() - t0;
  log(`new session to r1 with mgmt0 down failed after ${failMs} ms (connect timeout 2 s)`);
  assert.ok(failMs < 2000 + 3000, `failed within the bound (${failMs} ms)`);
  await assert.rejects(s.exec('true', { timeoutMs: 3000 }), /no answer to `true` on node r1 of lab frrlab within 3000 ms|the SSH session is closed/);
  await s.close();
  // the data plane is untouched, and management comes back with mgmt0
  assert.equal((await running.exec('r1', ['vtysh', '-c', 'show ip ospf neighbor'])).stdout.includes('Full/'), true);
  await running.exec('r1', ['ip', 'link', 'set', 'mgmt0', 'up']);
  let last = '';
  const back = await until('a new session to r1 after mgmt0 is up again', 15_000, async () => {
    try {
      const again = await sessions();
      await again.close();
      return true;
    } catch (e) { last = (e as Error).message; return undefined; }
  }, () => last);
  log(`management back ${back.ms} ms after \`ip link set mgmt0 up\``);
});

test('FRR that does not start fails the lab naming node, daemon and log lines; the lab is unwound', async () => {
  const dir = path.resolve('test/fixtures/labs');
  const lab = (files: string): string => [
    `name: ${BAD}`,
    'nodes:',
    '  r9:',
    '    kind: frr',
    `    files: [${files}]`,
  ].join('\n');
  let t0 = Date.now();
  await assert.rejects(up(ctx, parseTopology(lab('{ src: ../files/bad-frr.conf, dst: /etc/frr/frr.conf }'), 'frrbad.yaml', dir)), (e: Error) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, /^node r9: frr is not ready \(frr exited: vtysh -b rejected \/etc\/frr\/frr\.conf \(exit 2\): line 3: % Unknown command\S*: +netwrk 10\.62\.0\.0\/16 area 0\); last lines of \/var\/log\/tsunagari\/frr\.log:\n/);
    return true;
  });
  log(`rejected frr.conf noticed and unwound in ${Date.now() - t0} ms`);
  assert.deepEqual((await leftovers()).filter((l) => l.startsWith(BAD)), []);
  t0 = Date.now();
  await assert.rejects(up(ctx, parseTopology(lab('{ src: ../files/bad-frr-daemons, dst: /etc/frr/daemons }'), 'frrbad.yaml', dir)), (e: Error) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, /^node r9: frr is not ready \(frr exited: ospfd exited \(status 1\)\); last lines of \/var\/log\/tsunagari\/frr\.log:\n/);
    assert.match(e.message, /ospfd exited \(status 1\); last lines of \/var\/log\/tsunagari\/frr\/ospfd\.log:\n +\| \/usr\/lib\/frr\/ospfd: unrecognized option '--no-such-option'/);
    return true;
  });
  log(`dead ospfd noticed and unwound in ${Date.now() - t0} ms`);
  assert.deepEqual((await leftovers()).filter((l) => l.startsWith(BAD)), []);
});
