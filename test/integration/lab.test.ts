// Integration tests of the lab engine on the real machine: Docker containers and bare namespaces,
// OVS bridges with VLANs, a router between subnets, a VXLAN between two switches — up, reachability,
// down to nothing; SIGTERM and SIGKILL during `up`; a failing start command unwinds the lab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown, cleanupAll } from '../../src/lab/down.js';
import { discoverLab } from '../../src/lab/discover.js';
import { openLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { snapshot, pings, type MachineSnapshot } from './helpers.js';
import { tcpConnect } from '../../src/probes/tcp.js';
import { run, runOk } from '../../src/util/exec.js';
import { listNetns } from '../../src/runtime/netns.js';

const ctx = new Context();
const ITEST = 'test/fixtures/labs/itest.yaml';
let before0: MachineSnapshot;

// The machine is shared: labs of other runs are left alone and not compared, also by the SIGKILL test
// (cleanup restricted to this file's labs, as `tsunagari cleanup` would leave live runs alone anyway).
const MINE = ['itest', 'small', 'badexec', 'a', 'a-b', 'zz'];
const mine = (l: string): boolean => MINE.includes(l);
before(async () => {
  before0 = await snapshot(ctx, MINE);
});

after(async () => {
  for (const lab of MINE) await teardown(ctx, lab).catch(() => undefined);
});

test('a lab with OVS VLANs, a router and a VXLAN comes up, forwards as designed, and goes away without a trace', async () => {
  const lab = await loadTopology(ITEST);
  const res = await up(ctx, lab);
  try {
    const r = openLab(ctx, 'itest');
    const ns = async (n: string): Promise<string> => (await r.handle(n)).netnsPath;
    // same VLAN on one switch; netns host ↔ docker host
    assert.equal(await pings(await ns('h1'), '10.10.1.12'), true, 'h1 → h2 on lan1 VLAN 10');
    // through the router, both directions, IPv4 and IPv6
    assert.equal(await pings(await ns('h1'), '10.10.2.13'), true, 'h1 → h3 through r1');
    assert.equal(await pings(await ns('h3'), '10.10.1.12'), true, 'h3 → h2 through r1');
    assert.equal(await pings(await ns('h3'), 'fd00:10:2::1'), true, 'h3 → r1 over IPv6');
    // across the VXLAN between two switches
    assert.equal(await pings(await ns('v1'), '10.77.0.2'), true, 'v1 → v2 over VXLAN VNI 77');
    // TCP across the OVS switch (the userspace datapath needs tx checksum offload off on the nodes)
    const web = await r.exec('h2', ['sh', '-c', 'mkdir -p /tmp/www && httpd -p 8080 -h /tmp/www']);
    assert.equal(web.code, 0, web.stderr);
    const tcp = await tcpConnect(await ns('h1'), '10.10.1.12', 8080, 3000);
    assert.equal(tcp.ok, true, `h1 → h2:8080 over lan1: ${tcp.error}`);
    // VLAN isolation: same subnet, other VLAN
    assert.equal(await pings(await ns('iso'), '10.10.1.11', 2), false, 'iso (VLAN 20) must not reach h1 (VLAN 10)');
    // the MAC, MTU and start command from the topology are applied
    const link = await r.exec('h2', ['ip', '-o', 'link', 'show', 'eth1']);
    assert.match(link.stdout, /02:00:0a:0a:01:0c/);
    const mtu = await r.exec('v1', ['ip', '-o', 'link', 'show', 'eth1']);
    assert.match(mtu.stdout, /mtu 1450/);
    const ran = await r.exec('r1', ['cat', '/tmp/exec-ran']);
    assert.equal(ran.stdout.trim(), 'started');
    // ownership: every resource carries the lab label
    const found = await discoverLab(ctx, 'itest');
    assert.equal(found.containers.length, 3, 'h2, r1, v2 are containers');
    assert.equal(found.bridges.length, 3);
    assert.ok(found.namespaces.length >= 4 + 2, 'h1, iso, h3, v1 + two VXLAN underlays');
    assert.ok(found.hostIfs.length >= 6 + 2, 'six switch ports + two VXLAN ports');
    assert.equal(found.containers.every((c) => c.run === res.run), true);
  } finally {
    await teardown(ctx, 'itest');
  }
  assert.equal((await discoverLab(ctx, 'itest')).count, 0);
  assert.deepEqual(await snapshot(ctx, MINE), before0, 'down leaves the machine as it was');
  assert.equal(Ledger.read('itest'), undefined);
});

test('starting a lab that is already up is refused, naming the lab and the fix', async () => {
  const lab = await loadTopology('test/fixtures/labs/small.yaml');
  await up(ctx, lab);
  try {
    await assert.rejects(up(ctx, lab), /cannot start lab small \(it is already up: run .*\); hint: `tsunagari down small` first/);
  } finally {
    await teardown(ctx, 'small');
  }
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

test('a failing start command unwinds everything the lab had created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-'));
  const file = join(dir, 'bad-exec.yaml');
  const text = readFileSync('test/fixtures/labs/small.yaml', 'utf8').replace('name: small', 'name: badexec')
    .replace('# EXEC', 'exec: ["false-command-that-does-not-exist"]');
  writeFileSync(file, text);
  const lab = await loadTopology(file);
  await assert.rejects(up(ctx, lab), /node a: start command `false-command-that-does-not-exist` failed \(exit 127\)/);
  assert.equal((await discoverLab(ctx, 'badexec')).count, 0);
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

/** Runs `tsunagari up FILE`, sends `signal` once `after` progress lines printed; resolves with output and code. */
function upAndSignal(file: string, signal: NodeJS.Signals, afterLine: RegExp): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tsunagari.js', 'up', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (!sent && afterLine.test(out)) { sent = true; child.kill(signal); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`tsunagari up did not finish in time:\n${out}`)); }, 120000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ out, code }); });
  });
}

test('SIGTERM during up unwinds by itself: nothing is left', async () => {
  const r = await upAndSignal(ITEST, 'SIGTERM', /✓ node\s+\S+/);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /SIGTERM: stopping start-up/);
  assert.equal((await discoverLab(ctx, 'itest')).count, 0, r.out);
  assert.equal(Ledger.read('itest'), undefined);
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

test('SIGKILL during up leaves only what `cleanup` finds and removes', async () => {
  const r = await upAndSignal(ITEST, 'SIGKILL', /✓ node\s+\S+/);
  assert.equal(r.code, null, r.out);
  // The engine may still finish a request the killed client had sent: wait until what is there stops
  // changing (bounded), as a user running cleanup a moment later would see it.
  let left = await discoverLab(ctx, 'itest');
  for (let i = 0, prev = -1; i < 20 && left.count !== prev; i++) {
    prev = left.count;
    await new Promise((res) => setTimeout(res, 300));
    left = await discoverLab(ctx, 'itest');
  }
  assert.ok(left.count > 0 || left.ledgers.length > 0, 'the killed run left something behind');
  await cleanupAll(ctx, { only: mine });
  assert.equal((await discoverLab(ctx, 'itest')).count, 0);
  assert.equal(Ledger.read('itest'), undefined);
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

/** A topology file in a temporary folder. */
function labFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, text);
  return file;
}

/** Two netns hosts on a switch; `n1` is the node whose name matters. */
const pair = (name: string, n1: string, net: string): string => `name: ${name}
nodes:
  ${n1}: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: ${net}.1/24 } } }
  peer: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: ${net}.2/24 } } }
switches: { s: {} }
links:
  - endpoints: [${n1}:eth1, s]
  - endpoints: [peer:eth1, s]
`;

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/tsunagari.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('names cannot collide: lab a with node b-c and lab a-b with node c are up side by side; down of one leaves the other', async () => {
  const a = await loadTopology(labFile(pair('a', 'b-c', '10.31.0')));
  const ab = await loadTopology(labFile(pair('a-b', 'c', '10.32.0')));
  assert.notEqual(a.nodes[0]!.netns, ab.nodes[0]!.netns);
  await up(ctx, a);
  try {
    await up(ctx, ab);
    const ra = openLab(ctx, 'a');
    const rab = openLab(ctx, 'a-b');
    assert.equal(await pings((await ra.handle('b-c')).netnsPath, '10.31.0.2'), true, 'a: b-c → peer');
    assert.equal(await pings((await rab.handle('c')).netnsPath, '10.32.0.2'), true, 'a-b: c → peer');
    await teardown(ctx, 'a-b');
    assert.equal(await pings((await ra.handle('b-c')).netnsPath, '10.31.0.2'), true, 'lab a is untouched by the down of a-b');
  } finally {
    await teardown(ctx, 'a-b').catch(() => undefined);
    await teardown(ctx, 'a');
  }
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

test('up refuses a name that exists and is not its own, before creating anything, and never removes it', async () => {
  const lab = await loadTopology(labFile(pair('zz', 'h1', '10.33.0')));
  const foreign = lab.nodes[0]!.netns;
  await runOk('ip', ['netns', 'add', foreign]);
  try {
    await assert.rejects(up(ctx, lab), new RegExp(`network namespace ${foreign.replace(/\./g, '\\.')} already exists on this machine, and it is not this lab's`));
    assert.ok((await listNetns()).includes(foreign), 'the foreign namespace is still there');
    assert.equal((await discoverLab(ctx, 'zz')).count, 0, 'nothing of lab zz was created');
    assert.equal(Ledger.read('zz'), undefined);
  } finally {
    await run('ip', ['netns', 'del', foreign]);
  }
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

test('a lab a live process holds is never taken down or cleaned up by another process; once it is gone, cleanup removes it', async () => {
  const lab = await loadTopology(labFile(pair('zz', 'h1', '10.34.0')));
  await up(ctx, lab);   // this process holds its lease until the teardown
  try {
    const down = await cli(['down', 'zz']);
    assert.equal(down.code, 1, down.out);
    assert.match(down.out, /cannot take lab zz down \(it is in use by the process that brought it up \(pid \d+, since/);
    const check = await cli(['cleanup', '--check']);
    assert.match(check.out, /in use: lab zz/);
    const clean = await cli(['cleanup']);
    assert.match(clean.out, /lab zz: left alone \(in use by/);
    assert.equal(await pings((await openLab(ctx, 'zz').handle('h1')).netnsPath, '10.34.0.2'), true, 'still up after the other process\'s cleanup');
  } finally {
    await teardown(ctx, 'zz');
  }
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});

test('hostile labels are never acted on: a container and a namespace labelled with lab "../../…" survive cleanup, nothing outside the state is removed', async () => {
  const sentinel = mkdtempSync(join(tmpdir(), 'tsunagari-sentinel-'));
  const hostile = `../../../..${sentinel}`;
  const docker = await ctx.docker();
  const name = `planted-${process.pid}`;
  const c = await docker.createContainer({ Image: 'tsunagari/host:latest', name, Cmd: ['sleep', '600'], Labels: { 'tsunagari.lab': hostile, 'tsunagari.run': 'x' }, HostConfig: { NetworkMode: 'none' } });
  const ns = `planted-${process.pid}`;
  await runOk('ip', ['netns', 'add', ns]);
  await runOk('ip', ['-n', ns, 'link', 'set', 'dev', 'lo', 'alias', `tsunagari lab=${hostile} run=x what=node:a`]);
  try {
    const clean = await cli(['cleanup']);
    assert.match(clean.out, new RegExp(`note: ignored container ${name} \\(label lab=`));
    assert.match(clean.out, new RegExp(`note: ignored namespace ${ns} \\(label lab=`));
    assert.doesNotMatch(clean.out, /\n\s+at /);
    assert.ok(existsSync(sentinel), 'the folder a hostile label points at is still there');
    assert.ok((await c.inspect()).Id, 'the planted container is untouched');
    assert.ok((await listNetns()).includes(ns), 'the planted namespace is untouched');
    const down = await cli(['down', hostile]);
    assert.equal(down.code, 1);
    assert.match(down.out, /^tsunagari: invalid lab name /m);
    assert.ok(existsSync(sentinel));
  } finally {
    await c.remove({ force: true });
    await run('ip', ['netns', 'del', ns]);
  }
});

test('a netns node sees its own env: and never tsunagari\'s environment', async () => {
  process.env.TSUNAGARI_TEST_SECRET = 'hunter2';
  try {
    const lab = await loadTopology(labFile(pair('zz', 'h1', '10.35.0').replace('{ kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.35.0.1/24 } } }', '{ kind: host, runtime: netns, env: { GREETING: hello }, interfaces: { eth1: { ipv4: 10.35.0.1/24 } } }')));
    await up(ctx, lab);
    try {
      const r = await openLab(ctx, 'zz').exec('h1', ['env']);
      assert.match(r.stdout, /^GREETING=hello$/m);
      assert.doesNotMatch(r.stdout, /hunter2|TSUNAGARI_TEST_SECRET/);
    } finally {
      await teardown(ctx, 'zz');
    }
  } finally {
    delete process.env.TSUNAGARI_TEST_SECRET;
  }
  assert.deepEqual(await snapshot(ctx, MINE), before0);
});
