// DNS server kinds in the topology and their start lines: resolver/authoritative/responder resolve with
// their defaults (a responder runs in a bare namespace even in a docker lab), the kinds' start and ready
// lines, and the launcher + responder process for real on loopback (UDP, TCP, control socket, probe).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket, { type Packet } from 'dns-packet';
import { parseTopology } from '../../../src/topology/load.js';
import { KINDS, responderAddresses, shq, type ServiceEnv } from '../../../src/topology/kinds.js';
import { PACKAGE_ROOT, serviceEnv } from '../../../src/lab/services.js';
import { controlRequest } from '../../../src/lab/dnsfaults.js';
import { run } from '../../../src/util/exec.js';

const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const labsDir = path.join(root, 'test/fixtures/labs');

const TOPO = `
name: dnskinds
nodes:
  res:
    kind: resolver
    interfaces: { eth1: { ipv4: 10.9.0.2/24 } }
    files: [{ src: ../../../fixtures/dns/unbound.conf, dst: /etc/unbound/unbound.conf }]
  auth:
    kind: authoritative
    interfaces: { eth1: { ipv4: 10.9.0.3/24 } }
  edge:
    kind: responder
    responder: ../../../fixtures/dns/edge.yaml
    interfaces:
      eth1: { ipv4: 10.9.0.53/24, ipv6: "fd00:9::53/64" }
      lo: { ipv4: 10.53.9.53/32 }
switches: { lan: {} }
links:
  - endpoints: [res:eth1, lan]
  - endpoints: [auth:eth1, lan]
  - endpoints: [edge:eth1, lan]
`;

test('DNS kinds resolve: docker for unbound and nsd, netns for the responder with its fixture path', () => {
  const lab = parseTopology(TOPO, path.join(labsDir, 'dnskinds.yaml'), labsDir);
  const [res, auth, edge] = lab.nodes;
  assert.deepEqual([res!.kind, res!.runtime, res!.image, res!.responder], ['resolver', 'docker', 'tsunagari/debian:latest', undefined]);
  assert.deepEqual([auth!.kind, auth!.runtime, auth!.image], ['authoritative', 'docker', 'tsunagari/debian:latest']);
  assert.deepEqual(edge, {
    name: 'edge', kind: 'responder', runtime: 'netns', container: 'tsunagari-dnskinds.edge', netns: 'tsunagari-dnskinds.edge',
    interfaces: [
      { name: 'eth1', addresses: ['10.9.0.53/24', 'fd00:9::53/64'], link: 'edge:eth1--lan' },
      { name: 'lo', addresses: ['10.53.9.53/32'] },
    ],
    routes: [], sysctls: {}, files: [], exec: [], env: {}, capabilities: ['NET_ADMIN', 'NET_RAW'],
    responder: path.join(root, 'fixtures/dns/edge.yaml'),
  });
  assert.deepEqual(responderAddresses(edge!), ['127.0.0.1', '::1', '10.9.0.53', 'fd00:9::53', '10.53.9.53']);
});

test('a reply_from outside the node\'s addresses is an error in the fixture, named with the node', () => {
  const text = TOPO.replace('lo: { ipv4: 10.53.9.53/32 }', 'lo: { ipv4: 10.53.9.54/32 }');
  assert.throws(() => parseTopology(text, path.join(labsDir, 'dnskinds.yaml'), labsDir), (e: Error) => {
    assert.equal(e.message.split('\n').length, 1);
    assert.match(e.message, /^(\/.*\/)?fixtures\/dns\/edge\.yaml:\d+:\d+: node edge, rule #3 \(moved\): reply_from 10\.53\.9\.53 is not an address of node edge; known: 127\.0\.0\.1, ::1, 10\.9\.0\.53, fd00:9::53, 10\.53\.9\.54$/);
    return true;
  });
});

test('start and ready lines: unbound and nsd in the background with pid and log; the responder through launch.pl', () => {
  const lab = parseTopology(TOPO, path.join(labsDir, 'dnskinds.yaml'), labsDir);
  const [res, , edge] = lab.nodes;
  const env = serviceEnv('dnskinds', res!);
  assert.equal(env.dir, '/var/log/tsunagari');
  const unbound = KINDS.resolver!.service!;
  assert.deepEqual(unbound.start(env), [
    'mkdir -p /var/log/tsunagari',
    'unbound -d -c /etc/unbound/unbound.conf >/var/log/tsunagari/unbound.log 2>&1 </dev/null & echo $! >/var/log/tsunagari/unbound.pid',
  ]);
  assert.equal(unbound.ready.command(env), 'dig +time=1 +tries=1 +norec -p 53 @127.0.0.1 id.server CH TXT >/dev/null 2>&1');
  assert.deepEqual([unbound.ready.timeoutMs, unbound.log(env), unbound.pidFile(env)], [20_000, '/var/log/tsunagari/unbound.log', '/var/log/tsunagari/unbound.pid']);
  assert.equal(KINDS.authoritative!.service!.start(env)[1], 'nsd -d -c /etc/nsd/nsd.conf >/var/log/tsunagari/nsd.log 2>&1 </dev/null & echo $! >/var/log/tsunagari/nsd.pid');

  const e: ServiceEnv = { lab: 'dnskinds', node: edge!, dir: '/state/labs/dnskinds.d/edge', nodeBin: '/usr/bin/node', root: '/opt/tsunagari' };
  const responder = KINDS.responder!.service!;
  assert.deepEqual(responder.start(e), [
    'mkdir -p /state/labs/dnskinds.d/edge',
    'setsid perl /opt/tsunagari/src/dns/launch.pl 127.0.0.1 ::1 10.9.0.53 fd00:9::53 10.53.9.53 -- /usr/bin/node /opt/tsunagari/src/dns/responder.mjs serve'
      + ` --fixture ${path.join(root, 'fixtures/dns/edge.yaml')} --node edge --control /state/labs/dnskinds.d/edge/control.sock`
      + ' >/state/labs/dnskinds.d/edge/responder.log 2>&1 </dev/null & echo $! >/state/labs/dnskinds.d/edge/responder.pid',
  ]);
  assert.equal(responder.ready.command(e), '/usr/bin/node /opt/tsunagari/src/dns/responder.mjs probe 127.0.0.1 53 >/dev/null 2>&1');
  assert.equal(serviceEnv('dnskinds', edge!).dir.endsWith('/labs/dnskinds.d/edge'), true);
  assert.equal(PACKAGE_ROOT, root);
  assert.equal(shq("it's here"), `'it'\\''s here'`);
});

// ---- the responder process on loopback (no namespace: 127.0.0.1 and a free high port only) ----------

let child: ChildProcess | undefined;
let port = 0;
let dir = '';
let output = '';

async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = 20000 + Math.floor(Math.random() * 40000);
    const ok = await new Promise<boolean>((res) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => res(false));
      s.bind(p, '127.0.0.1', () => { s.close(); res(true); });
    });
    if (ok) return p;
  }
  throw new Error('no free port');
}

function ask(name: string, type = 'A'): Promise<Packet & { rcode?: string; flag_tc?: boolean }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => { s.close(); reject(new Error(`no answer for ${name}`)); }, 2000);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(dnsPacket.decode(m) as never); });
    s.send(dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name, type: type as 'A', class: 'IN' }] }), port, '127.0.0.1');
  });
}

function askTcp(name: string): Promise<Packet & { rcode?: string }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { c.destroy(); reject(new Error('no TCP answer')); }, 2000);
    let buf = Buffer.alloc(0);
    c.on('connect', () => c.write(dnsPacket.streamEncode({ type: 'query', id: 8, flags: 0, questions: [{ name, type: 'A', class: 'IN' }] })));
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { clearTimeout(timer); c.end(); resolve(dnsPacket.streamDecode(buf) as never); }
    });
    c.on('error', reject);
  });
}

before(async () => {
  port = await freePort();
  dir = mkdtempSync(path.join(tmpdir(), 'tsunagari-responder-'));
  // edge.yaml with the reply_from rule pointed at the one address this test binds
  const fixture = path.join(dir, 'edge.yaml');
  writeFileSync(fixture, readFileSync(path.join(root, 'fixtures/dns/edge.yaml'), 'utf8').replace('reply_from: 10.53.9.53', 'reply_from: 127.0.0.1'));
  const t0 = Date.now();
  child = spawn('perl', [path.join(root, 'src/dns/launch.pl'), `127.0.0.1:${port}`, '--', process.execPath, path.join(root, 'src/dns/responder.mjs'),
    'serve', '--fixture', fixture, '--node', 'edge', '--control', path.join(dir, 'control.sock')],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { output += d; });
  for (let i = 0; i < 100 && !output.includes('ready:'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(output, /ready: zone edge\.test, 15 records, 7 rules; udp 127\.0\.0\.1:\d+ \(each also with checksum 0\); tcp too; control /, output);
  process.stdout.write(`# responder process ready after ${Date.now() - t0} ms (perl launcher + node + fixture)\n`);
});

after(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('responder on loopback: UDP and TCP answers, rules, the probe command, the control socket', async () => {
  const www = await ask('www.edge.test');
  assert.deepEqual([www.rcode, (www.answers?.[0] as { data?: string })?.data], ['NOERROR', '198.51.100.80']);
  assert.equal((await ask('broken.edge.test')).rcode, 'SERVFAIL');
  assert.equal((await ask('big.edge.test')).flag_tc, true);
  assert.equal(((await askTcp('big.edge.test')).answers?.[0] as { data?: string })?.data, '198.51.100.20');
  await assert.rejects(ask('void.edge.test'), /no answer/);

  const probe = await run(process.execPath, [path.join(root, 'src/dns/responder.mjs'), 'probe', '127.0.0.1', String(port)], { timeoutMs: 5000 });
  assert.deepEqual([probe.code, probe.stdout.trim()], [0, `reply from 127.0.0.1:${port}`]);

  const sock = path.join(dir, 'control.sock');
  const set = await controlRequest(sock, { op: 'set', overrides: { drop: false, rcode: 'REFUSED' } });
  assert.deepEqual(set, { ok: true, previous: {}, overrides: { drop: false, rcode: 'REFUSED' } });
  assert.equal((await ask('void.edge.test')).rcode, 'REFUSED', 'overrides win over the rule');
  assert.deepEqual(await controlRequest(sock, { op: 'set', overrides: { rcode: 'NOPE' } }),
    { ok: false, error: "unknown rcode 'NOPE'; known: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE" });
  assert.deepEqual(await controlRequest(sock, { op: 'set', overrides: { replyFrom: '192.0.2.1' } }),
    { ok: false, error: 'replyFrom 192.0.2.1 is not an address of edge; known: 127.0.0.1' });
  assert.deepEqual((await controlRequest(sock, { op: 'set', overrides: { rcode: null } })).overrides, { drop: false });
  assert.deepEqual((await controlRequest(sock, { op: 'replace', overrides: {} })).overrides, {});
  await assert.rejects(ask('void.edge.test'), /no answer/);
  const state = await controlRequest(sock, { op: 'get' });
  assert.deepEqual(state.stats, { queries: 8, replies: 6, dropped: 2, udp: 7, tcp: 1, zeroChecksum: 0, truncated: 1 });
  assert.match(output, /udp 127\.0\.0\.1#\d+ → 127\.0\.0\.1 void\.edge\.test A: dropped \(rule void\.edge\.test\)/);
});

test('the launcher refuses what it cannot bind and says why', async () => {
  const r = await run('perl', [path.join(root, 'src/dns/launch.pl'), '192.0.2.77:53', '--', 'true'], { timeoutMs: 5000 });
  assert.deepEqual([r.code, r.stderr.trim()], [99, 'launch.pl: cannot bind UDP 192.0.2.77 port 53 (Cannot assign requested address)']);
  const bad = await run('perl', [path.join(root, 'src/dns/launch.pl'), 'localhost', '--', 'true'], { timeoutMs: 5000 });
  assert.equal(bad.stderr.trim(), 'launch.pl: cannot parse address localhost');
});
