// Probes and link impairments on a real lab (test/fixtures/labs/probes.yaml): ping, reachWithin, TCP and
// HTTP from inside nodes; link down/up on a switch link and on a veth with static routes; loss, rate and
// delay with their undos — and afterwards nothing of ours is left (namespaces, interfaces, nft tables).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { discoverLab } from '../../src/lab/discover.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { resolveLink, resolveTarget } from '../../src/lab/targets.js';
import { linkDelay, linkDown, linkLoss, linkRate, linkUp, netemAvailable, type Undo } from '../../src/lab/impair.js';
import { confirmUnreachable, ping, reach, reachWithin } from '../../src/probes/ping.js';
import { tcpConnect } from '../../src/probes/tcp.js';
import { httpGet } from '../../src/probes/http.js';
import { run, runOk } from '../../src/util/exec.js';
import { labId } from '../../src/topology/naming.js';
import { until } from './helpers.js';

const ctx = new Context();
const LAB = 'probes';
const FILE = 'test/fixtures/labs/probes.yaml';
const SERVER = '10.31.1.20';
const PEER_LO = '10.31.9.1';
const PEER_LO6 = 'fd00:31:9::1';
let running: RunningLab;
let client = '';   // namespace paths
let peer = '';
let mark0: Trace;
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };

/** What a lab of ours, or an impairment, could leave on this machine (only ours: other labs may be up). */
interface Trace { netns: string[]; links: string[]; nft: string[]; }
async function trace(): Promise<Trace> {
  const id = labId(LAB);
  const links = (JSON.parse(await runOk('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>)
    .map((l) => l.ifname).filter((n) => n.startsWith(`t${id}`)).sort();
  const netns = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] as string)
    .filter((n) => n.startsWith(`tsunagari-${LAB}.`) || n.startsWith('tsunagari-doctor-')).sort();
  const nft = (await runOk('nft', ['list', 'tables'])).split('\n').filter((l) => l.includes('tsunagari')).sort();
  return { netns, links, nft };
}

const nsRun = (ns: string, argv: string[], timeoutMs = 20000) => run('nsenter', [`--net=${ns}`, ...argv], { timeoutMs });

/** Download with busybox wget inside a namespace, bounded by the process timeout (busybox 1.35 `wget -T` segfaults). */
async function fetchMs(ns: string, url: string): Promise<number> {
  const t0 = Date.now();
  const r = await nsRun(ns, ['busybox', 'wget', '-q', '-O', '/dev/null', url]);
  assert.equal(r.code, 0, `wget ${url}: ${r.stderr}`);
  return Date.now() - t0;
}

before(async () => {
  if (Ledger.read(LAB)) await teardown(ctx, LAB);   // only our own lab, left by an interrupted run
  mark0 = await trace();
  await up(ctx, await loadTopology(FILE));
  running = openLab(ctx, LAB);
  client = (await running.handle('client')).netnsPath;
  peer = (await running.handle('peer')).netnsPath;
  const www = await running.exec('server', ['sh', '-c',
    'mkdir -p /tmp/www && cd /tmp/www && echo hello > index.html && dd if=/dev/zero of=big bs=1024 count=256 2>/dev/null && httpd -p 8080 -h /tmp/www']);
  assert.equal(www.code, 0, www.stderr);
});

after(async () => {
  await teardown(ctx, LAB);
  assert.equal((await discoverLab(ctx, LAB)).count, 0);
  assert.deepEqual(await trace(), mark0, 'nothing of the probes lab or its impairments is left');
});

test('ping: replies over IPv4 and IPv6, through a static route, with an RTT', async () => {
  const r = await reach(client, SERVER);
  assert.equal(r.ok, true, r.probes.map((p) => p.output).join('\n'));
  const p = await ping(client, SERVER, { count: 5, intervalMs: 20 });
  assert.deepEqual([p.sent, p.received], [5, 5]);
  assert.ok(p.rttMs !== undefined && p.rttMs > 0 && p.rttMs < 50, p.output);
  log(`ping client → server over OVS: rtt avg ${p.rttMs} ms`);
  assert.equal((await reach(client, resolveTarget(running.lab, 'server', 6).address)).ok, true, 'IPv6 through OVS');
  assert.equal((await reach(client, PEER_LO)).ok, true, 'static route via the veth');
  assert.equal((await reach(client, PEER_LO6)).ok, true, 'IPv6 static route via the veth');
});

test('ping: unreachable targets — nobody answers, or no route at all', async () => {
  const t0 = Date.now();
  const silent = await confirmUnreachable(client, '10.31.1.99', { probes: 2, timeoutMs: 500 });
  assert.equal(silent.unreachable, true);
  assert.deepEqual(silent.probes.map((p) => [p.sent, p.received]), [[1, 0], [1, 0]]);
  assert.ok(Date.now() - t0 < 3000, 'two probes of 0.5 s');
  const noRoute = await confirmUnreachable(client, '10.31.5.5');
  assert.equal(noRoute.unreachable, true);
  assert.equal(noRoute.probes[0]?.error, 'Network is unreachable');
  const reachable = await confirmUnreachable(client, SERVER);
  assert.equal(reachable.unreachable, false);
});

test('reachWithin: succeeds at once when reachable, gives up at the deadline when not', async () => {
  const ok = await reachWithin(client, SERVER, 3000);
  assert.equal(ok.ok, true);
  assert.ok(ok.elapsedMs < 1000, `${ok.elapsedMs} ms`);
  log(`reachWithin client → server: ${ok.elapsedMs} ms, ${ok.sent} probe(s)`);
  const t0 = Date.now();
  const no = await reachWithin(client, '10.31.1.99', 600, { intervalMs: 100 });
  const took = Date.now() - t0;
  assert.equal(no.ok, false);
  assert.ok(no.sent >= 1 && no.sent <= 7, `bounded: ${no.sent} probes`);
  assert.ok(took < 600 + 1200, `overran the deadline by ${took - 600} ms`);
  const many = await reachWithin(client, SERVER, 3000, { successes: 3, intervalMs: 50 });
  assert.deepEqual([many.ok, many.okCount], [true, 3]);
});

test('tcp: connects to a listening port, is refused on a closed one, times out on a silent address', async () => {
  const ok = await tcpConnect(client, SERVER, 8080, 3000);
  assert.equal(ok.ok, true, JSON.stringify(ok));
  const t0 = Date.now();
  await tcpConnect(client, SERVER, 8080, 3000);
  log(`tcp connect client → server:8080: ${ok.ms} ms inside the namespace, ${Date.now() - t0} ms with process start`);
  const v6 = await tcpConnect(client, 'fd00:31:1::20', 8080, 3000);
  assert.equal(v6.ok, true, JSON.stringify(v6));
  const refused = await tcpConnect(client, SERVER, 8081, 3000);
  assert.deepEqual([refused.ok, refused.error], [false, 'refused']);
  const silent = await tcpConnect(client, '10.31.1.99', 80, 500);
  assert.equal(silent.ok, false);
  assert.match(silent.error ?? '', /^(timeout|unreachable)$/);
});

test('http: 200 with the body, 404 for a missing page, over IPv4 and IPv6', async () => {
  const ok = await httpGet(client, `http://${SERVER}:8080/`, 5000);
  assert.equal(ok.status, 200, JSON.stringify(ok));
  assert.equal(ok.bodyStart, 'hello\n');
  assert.equal(ok.headers?.['content-length'], '6');
  log(`http GET client → server: headers after ${ok.ms} ms`);
  const missing = await httpGet(client, `http://${SERVER}:8080/nope`, 5000);
  assert.equal(missing.status, 404);
  const v6 = await httpGet(client, 'http://[fd00:31:1::20]:8080/', 5000);
  assert.equal(v6.status, 200, JSON.stringify(v6));
  const closed = await httpGet(client, `http://${SERVER}:8081/`, 5000);
  assert.deepEqual([closed.status, closed.error], [undefined, 'refused']);
});

test('link down on a switch link: the node keeps its routes (NO-CARRIER); up restores reachability', async () => {
  const link = resolveLink(running.lab, 'client:eth1--lan');
  const undo = await linkDown(running, link);
  try {
    assert.equal((await confirmUnreachable(client, SERVER)).unreachable, true);
    const show = await nsRun(client, ['ip', '-o', 'link', 'show', 'eth1']);
    assert.match(show.stdout, /NO-CARRIER/);
    const routes = await nsRun(client, ['ip', 'route', 'show', 'dev', 'eth1']);
    assert.match(routes.stdout, /10\.31\.1\.0\/24 .*linkdown/, 'the connected route stays, flagged linkdown');
  } finally {
    await undo();
  }
  const back = await reachWithin(client, SERVER, 5000);
  assert.equal(back.ok, true, `not back within 5 s: ${back.okCount}/${back.sent}`);
  log(`switch link back up: first reply after ${back.elapsedMs} ms`);
  await undo();   // idempotent
  assert.equal((await tcpConnect(client, SERVER, 8080, 3000)).ok, true);
});

test('link down on a veth: both ends down; up restores the static routes and IPv6 addresses', async () => {
  const keep0 = (await nsRun(client, ['sysctl', '-n', 'net.ipv6.conf.all.keep_addr_on_down'])).stdout.trim();
  const undo = await linkDown(running, 'client-peer');
  try {
    assert.equal((await confirmUnreachable(client, PEER_LO, { probes: 1 })).unreachable, true);
    const routes = await nsRun(client, ['ip', 'route']);
    assert.doesNotMatch(routes.stdout, /10\.31\.9\.0\/24/, 'Linux dropped the static route of the downed end');
    assert.match((await nsRun(client, ['ip', '-6', 'addr', 'show', 'dev', 'eth2'])).stdout, /fd00:31:2::1\/64/, 'IPv6 address kept while down');
  } finally {
    await undo();
  }
  const back = await reachWithin(client, PEER_LO, 5000);
  assert.equal(back.ok, true, `static route not back: ${back.last?.output}`);
  const back6 = await reachWithin(client, PEER_LO6, 5000);
  assert.equal(back6.ok, true, `IPv6 not back: ${back6.last?.output}`);
  assert.equal((await reach(peer, '10.31.2.1')).ok, true, 'the other end works too');
  assert.equal((await nsRun(client, ['sysctl', '-n', 'net.ipv6.conf.all.keep_addr_on_down'])).stdout.trim(), keep0, 'sysctl restored');
  // linkUp on a link that is up changes nothing and does not fail.
  await linkUp(running, 'client-peer');
  assert.equal((await reach(client, PEER_LO)).ok, true);
});

test('loss 100 % breaks a switch link and a veth; each undo restores them and removes its tables', async () => {
  for (const [name, target] of [['client:eth1--lan', SERVER], ['client-peer', PEER_LO]] as const) {
    const undo = await linkLoss(running, name, 100);
    try {
      assert.equal((await confirmUnreachable(client, target, { probes: 2, timeoutMs: 500 })).unreachable, true, name);
    } finally {
      await undo();
    }
    assert.equal((await reachWithin(client, target, 3000)).ok, true, `${name} back after undo`);
    await undo();
  }
  for (const ns of [client, peer]) {
    assert.doesNotMatch((await nsRun(ns, ['nft', 'list', 'tables'])).stdout, /tsunagari/);
  }
});

test('loss 30 % on a switch link loses some of 40 pings, not all', async () => {
  const undo = await linkLoss(running, 'client:eth1--lan', 30);
  let p;
  try {
    p = await ping(client, SERVER, { count: 40, intervalMs: 20, timeoutMs: 500 });
  } finally {
    await undo();
  }
  log(`30 % loss each way: ${p.received}/${p.sent} answered (expected ≈ 49 %)`);
  assert.equal(p.sent, 40, 'ping counts every request: the egress mark-lost does not make it resend');
  assert.ok(p.received > 0 && p.received < 40, p.output);
  const clean = await ping(client, SERVER, { count: 20, intervalMs: 20, timeoutMs: 500 });
  assert.equal(clean.received, 20, 'no loss after undo');
});

test('rate 2 Mbit/s on a switch link slows a 256 KiB transfer in both directions by an order of magnitude', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-probes-www-'));
  writeFileSync(join(dir, 'big'), Buffer.alloc(256 * 1024));
  let httpd: ChildProcess | undefined;
  try {
    // The client (a bare namespace) serves with the machine's busybox, in the foreground, stopped below.
    httpd = spawn('nsenter', [`--net=${client}`, 'busybox', 'httpd', '-f', '-p', '8081', '-h', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let httpdErr = '';
    let httpdExit: number | null | undefined;
    httpd.stderr?.on('data', (b: Buffer) => { httpdErr += b.toString(); });
    httpd.on('exit', (code) => { httpdExit = code; });
    // Bounded by time, not by a count of refusals: under a loaded CI machine the spawn alone can take a second.
    await until('busybox httpd in the client namespace listening on 8081', 10000, async () => {
      if (httpdExit !== undefined) throw new Error(`httpd exited with ${httpdExit}: ${httpdErr.trim()}`);
      return (await tcpConnect(peer, '10.31.2.1', 8081, 500)).ok ? true : undefined;
    });
    const upload = async (): Promise<number> => {
      const t0 = Date.now();
      const r = await running.exec('server', ['wget', '-q', '-O', '/dev/null', 'http://10.31.1.10:8081/big'], { timeoutMs: 20000 });
      assert.equal(r.code, 0, r.stderr);
      return Date.now() - t0;
    };
    const down0 = await fetchMs(client, `http://${SERVER}:8080/big`);
    const up0 = await upload();
    const undo = await linkRate(running, 'client:eth1--lan', 2_000_000);
    let down1 = 0; let up1 = 0;
    try {
      down1 = await fetchMs(client, `http://${SERVER}:8080/big`);
      up1 = await upload();
    } finally {
      await undo();
    }
    log(`256 KiB server → client: ${down0} ms unlimited, ${down1} ms at 2 Mbit/s (${((256 * 1024 * 8) / down1 / 1000).toFixed(2)} Mbit/s)`);
    log(`256 KiB client → server (via docker exec): ${up0} ms unlimited, ${up1} ms at 2 Mbit/s`);
    // 2 Mbit of payload takes ≥ 1.05 s at 2 Mbit/s.
    assert.ok(down1 > 800 && down1 > 5 * down0, `download ${down0} → ${down1} ms`);
    assert.ok(up1 > 800 && up1 > 3 * up0, `upload ${up0} → ${up1} ms`);
    assert.ok(down1 < 5000 && up1 < 5000, 'limited, not stalled');
    const after0 = await fetchMs(client, `http://${SERVER}:8080/big`);
    assert.ok(after0 < down1 / 3, `undo lifts the limit (${after0} ms)`);
    const port = resolveLink(running.lab, 'client:eth1--lan');
    assert.equal(port.type, 'switch');
    const q = await runOk('tc', ['qdisc', 'show', 'dev', port.type === 'switch' ? port.hostIf : '']);
    assert.doesNotMatch(q, /tbf/);
    assert.doesNotMatch((await nsRun(client, ['tc', 'qdisc', 'show', 'dev', 'eth1'])).stdout, /tbf/);
  } finally {
    httpd?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('delay: netem is detected at run time; without it the error says so', async () => {
  const netem = await netemAvailable();
  if (!netem.ok) {
    await assert.rejects(linkDelay(running, 'client-peer', 50),
      (e: Error) => /^not available on this kernel: netem \(delay\) for link client-peer \(.*\); hint: use a kernel with CONFIG_NET_SCH_NETEM/.test(e.message));
    log(`netem: ${netem.detail}`);
    return;
  }
  const undo = await linkDelay(running, 'client-peer', 50);
  try {
    const p = await ping(client, PEER_LO, { count: 3, intervalMs: 100, timeoutMs: 1000 });
    assert.ok((p.rttMs ?? 0) >= 90, p.output);
  } finally {
    await undo();
  }
});

test('undo after the lab went down is quiet; changes on a gone lab fail naming the link', async () => {
  const undos: Undo[] = [
    await linkDown(running, 'client-peer'),
    await linkLoss(running, 'client:eth1--lan', 10),
    await linkRate(running, 'server:eth1--lan', 10_000_000),
    await linkDown(running, 'server:eth1--lan'),
  ];
  await teardown(ctx, LAB);
  for (const u of undos.reverse()) await u();
  await assert.rejects(linkLoss(running, 'client:eth1--lan', 30), /^Error: cannot add 30% loss to link client:eth1--lan \(client:eth1 is gone/);
  await assert.rejects(linkDown(running, 'client:eth1--lan'), /^Error: cannot set link client:eth1--lan down \(port of switch lan t\w+: `ip link set dev t\w+ down`: Cannot find device/);
});
