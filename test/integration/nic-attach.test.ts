// A profile attachment `attach: { lan: { nic: { device, vlan } } }` on the real machine: tsunagari adds an
// existing host NIC to the lab's switch as an OVS access port with a VLAN tag, and leaves the NIC as it found
// it on teardown. The "physical switch" the NIC is cabled to is built by this test, outside tsunagari: the
// kernel has no 8021q module and OVS runs with the userspace datapath (one ovs-vswitchd per namespace), so
// it is a second, unlabelled bridge `nicsw0` on tsunagari's running OVS, with the veth nict0 (the "NIC")
// ↔ nict0p (a trunk port, VLAN 100) and a namespace nictest-far holding 10.99.0.2/24 on an access port
// tag=100. Everything the test creates is removed in `after`, even on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '../../src/topology/load.js';
import { applyProfile } from '../../src/topology/inventory.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { openLab } from '../../src/lab/running.js';
import { run, runOk } from '../../src/util/exec.js';
import type { Lab } from '../../src/topology/types.js';
import { labLeftovers, pings } from './helpers.js';

const ctx = new Context();
const LAB = 'nicattach';
const SW = 'nicsw0';            // the stand-in physical switch (test-owned, no tsunagari labels)
const NIC = 'nict0';            // the "NIC" handed to tsunagari
const NIC_PEER = 'nict0p';      // its cable's other end: a trunk port of nicsw0
const FAR_NS = 'nictest-far';   // a host on the physical switch, VLAN 100
const FAR_IF = 'nictf0';        // host end of the far host's veth: an access port of nicsw0
const MISSING = 'nict9';        // a NIC that does not exist

let dir = '';
let topoFile = '';

const TOPOLOGY = `name: ${LAB}
nodes:
  h1: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.99.0.1/24 } } }
switches:
  lan: {}
links:
  - endpoints: [h1:eth1, lan]
`;
const inventory = (profile: string, device: string, vlan: number): string =>
  `profile: ${profile}\nlab: ${LAB}\nattach:\n  lan: { nic: { device: ${device}, vlan: ${vlan} } }\n`;

const vsctl = async (args: string[]): Promise<string> => (await ctx.ovs()).vsctl(args);

/** Only what this test names: a previous run of it killed half-way may have left these. */
async function removeStandIn(): Promise<void> {
  await teardown(ctx, LAB).catch(() => undefined);
  await vsctl(['--', '--if-exists', 'del-br', SW]).catch(() => undefined);
  for (const i of [NIC, FAR_IF]) await run('ip', ['link', 'del', 'dev', i]);
  await run('ip', ['netns', 'del', FAR_NS]);
}

async function labProfile(profile: string): Promise<Lab> {
  return applyProfile(await loadTopology(topoFile), profile, existsSync);
}

/** What must not change on the NIC: state, MTU, master, address, promiscuity, alias. */
async function nicState(): Promise<Record<string, unknown>> {
  const [l] = JSON.parse(await runOk('ip', ['-j', '-d', 'link', 'show', 'dev', NIC])) as Array<Record<string, unknown>>;
  assert.ok(l, `${NIC} exists`);
  return { flags: l.flags, operstate: l.operstate, mtu: l.mtu, master: l.master, address: l.address, promiscuity: l.promiscuity, ifalias: l.ifalias };
}

/** tcpdump -e on the NIC while `traffic` runs: every ICMP frame (tagged or not), at most `count`, bounded. */
async function captureOnNic(count: number, traffic: () => Promise<unknown>): Promise<string[]> {
  const child = spawn('timeout', ['10', 'tcpdump', '-i', NIC, '-e', '-n', '-l', '-c', String(count), 'icmp or (vlan and icmp)'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const listening = new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (/listening on/.test(err)) resolve(); });
    setTimeout(resolve, 5000);
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await listening;
  await traffic();
  await exited;
  return out.split('\n').filter(Boolean);
}

before(async () => {
  await removeStandIn();
  dir = mkdtempSync(join(tmpdir(), 'tsunagari-nic-'));
  topoFile = join(dir, `${LAB}.yaml`);
  writeFileSync(topoFile, TOPOLOGY);
  writeFileSync(join(dir, `${LAB}.lab.yaml`), inventory('lab', NIC, 100));
  writeFileSync(join(dir, `${LAB}.wrongvlan.yaml`), inventory('wrongvlan', NIC, 200));
  writeFileSync(join(dir, `${LAB}.missing.yaml`), inventory('missing', MISSING, 100));

  // The physical switch: the NIC's cable on a trunk (VLAN 100), a far host on an access port of VLAN 100.
  await runOk('ip', ['netns', 'add', FAR_NS]);
  await runOk('ip', ['-batch', '-'], { input: [
    `link add ${NIC} type veth peer name ${NIC_PEER}`,
    `link add ${FAR_IF} type veth peer name eth0 netns ${FAR_NS}`,
    `link set dev ${NIC} up`, `link set dev ${NIC_PEER} up`, `link set dev ${FAR_IF} up`, ''].join('\n') });
  await runOk('ip', ['-n', FAR_NS, '-batch', '-'], { input: [
    'link set dev lo up', 'addr add 10.99.0.2/24 dev eth0', 'link set dev eth0 up', ''].join('\n') });
  await vsctl(['--', 'add-br', SW, '--', 'set', 'bridge', SW, 'datapath_type=netdev', 'fail_mode=standalone',
    '--', 'add-port', SW, NIC_PEER, 'trunks=100',
    '--', 'add-port', SW, FAR_IF, 'tag=100']);
});

after(async () => {
  await removeStandIn();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a NIC attached with vlan 100 carries the lab\'s switch to the physical switch, tagged, and is left as it was', async () => {
  const nicBefore = await nicState();
  const lab = await labProfile('lab');
  const uplink = lab.links.find((l) => l.type === 'nic');
  assert.deepEqual(uplink, { type: 'nic', name: 'uplink:lan', switch: 'lan', device: NIC, vlan: { vlan: 100 } });
  const bridge = lab.switches.find((s) => s.name === 'lan')?.bridge as string;
  await up(ctx, lab);
  try {
    // the NIC carries the segment tagged: a trunk of VLAN 100 only; the bridge's untagged ports join VLAN 100
    assert.equal((await vsctl(['get', 'Port', NIC, 'trunks'])).trim(), '[100]', `${NIC} is a trunk of VLAN 100`);
    assert.equal((await vsctl(['get', 'Port', NIC, 'tag'])).trim(), '[]', `${NIC} has no access tag`);
    assert.equal((await vsctl(['port-to-br', NIC])).trim(), bridge, `${NIC} is a port of the lab's bridge ${bridge}`);

    const h1 = await openLab(ctx, LAB).handle('h1');
    assert.equal(await pings(h1.netnsPath, '10.99.0.2', 5), true, 'h1 → 10.99.0.2 (far host on VLAN 100 of the physical switch)');

    const frames = await captureOnNic(4, () => run('nsenter', [`--net=${h1.netnsPath}`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '10.99.0.2'], { timeoutMs: 5000 }));
    assert.ok(frames.length >= 2, `ICMP frames seen on ${NIC}: ${frames.join(' | ') || '(none)'}`);
    for (const f of frames) assert.match(f, /ethertype 802\.1Q \(0x8100\).*vlan 100\b/, `every frame on ${NIC} carries VLAN 100: ${f}`);
    assert.ok(frames.some((f) => /10\.99\.0\.1 > 10\.99\.0\.2: ICMP echo request/.test(f)), 'requests leave through the NIC');
    assert.ok(frames.some((f) => /10\.99\.0\.2 > 10\.99\.0\.1: ICMP echo reply/.test(f)), 'replies come back through the NIC');
  } finally {
    await teardown(ctx, LAB);
  }
  assert.deepEqual(await nicState(), nicBefore, `${NIC} is unchanged (up, no master, same MTU)`);
  assert.equal((await vsctl(['list-br'])).split('\n').includes(bridge), false, `the lab's bridge ${bridge} is gone`);
  assert.equal((await run('ovs-vsctl', [`--db=${(await ctx.ovs()).db}`, 'port-to-br', NIC])).code !== 0, true, `${NIC} is no OVS port any more`);
  assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
  // the physical switch is untouched
  assert.deepEqual((await vsctl(['list-ports', SW])).split('\n').filter(Boolean).sort(), [FAR_IF, NIC_PEER].sort());
});

test('a NIC attached with the wrong vlan (200) reaches nothing on VLAN 100', async () => {
  const nicBefore = await nicState();
  await up(ctx, await labProfile('wrongvlan'));
  try {
    const h1 = await openLab(ctx, LAB).handle('h1');
    assert.equal(await pings(h1.netnsPath, '10.99.0.2', 2), false, 'h1 must not reach 10.99.0.2 with its segment on VLAN 200');
  } finally {
    await teardown(ctx, LAB);
  }
  assert.deepEqual(await nicState(), nicBefore);
  assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
});

test('a NIC that does not exist is a clear error naming the NIC and the inventory, and nothing is left', async () => {
  const lab = await labProfile('missing');
  const inv = join(dir, `${LAB}.missing.yaml`);
  await assert.rejects(up(ctx, lab), (e: Error) => {
    assert.equal(e.name, 'UserError');
    assert.match(e.message, new RegExp(`^cannot start lab ${LAB} \\(NIC ${MISSING} of attachment lan does not exist on this machine\\)`));
    assert.ok(e.message.includes(`fix nic.device in ${inv}`), e.message);
    return true;
  });
  assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
});
