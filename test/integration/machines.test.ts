// Nodes and switches on a second machine (docs/machines.md), the machine being a stand-in: network namespace
// tsu-m2 with its own dockerd on tcp://198.18.253.2:2376 (mutual TLS), test/support/second-machine.ts.
// A lab across both machines comes up (remote containers, the agent's OVS, VXLAN between the machines),
// forwards both ways, runs commands on remote nodes through the remote engine, takes a cross-machine link
// down and up, and goes away on both sides; a run SIGKILLed during or after `up` is cleaned up by
// cleanupAll through the ledger and the machine registry; an unreachable or untrusted engine gives one
// clear error and leaves nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { paths } from '../../src/setup/paths.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { loadTopology } from '../../src/topology/load.js';
import { labId } from '../../src/topology/naming.js';
import { loadInventory } from '../../src/topology/inventory.js';
import type { Lab } from '../../src/topology/types.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown, cleanupAll } from '../../src/lab/down.js';
import { discoverLab } from '../../src/lab/discover.js';
import { openLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { linkDown } from '../../src/lab/impair.js';
import { reach, confirmUnreachable } from '../../src/probes/ping.js';
import { registered } from '../../src/machines/registry.js';
import { AGENT_CONTAINER } from '../../src/machines/agent.js';
import { runOk } from '../../src/util/exec.js';
import { M2, secondMachineDown, secondMachineSsh, secondMachineSshStop, secondMachineTraces, secondMachineUp, type SecondMachine } from '../support/second-machine.js';
import { labLeftovers, snapshot, until, type MachineSnapshot } from './helpers.js';
import { localDocker } from '../../src/util/docker-client.js';

const ctx = new Context();
const LAB = 'mtwo';
const dir = mkdtempSync(join(tmpdir(), 'tsunagari-machines-'));
let m2: SecondMachine;
let before0: MachineSnapshot;
let remote: Docker;

// Site A here: a1 (netns) and a2 (docker) on sw-a. Site B on m2: sw-b with b1 (linux, with a start command
// that pings across) and b2. sw-a also has b3 on m2 (stretched switch), and b2 ↔ b4 are joined by a veth on m2.
const TOPOLOGY = `name: ${LAB}
nodes:
  a1: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.93.0.1/24, mtu: 1450 } } }
  a2: { kind: host, interfaces: { eth1: { ipv4: 10.93.0.2/24, mtu: 1450 } } }
  b1:
    kind: linux
    interfaces: { eth1: { ipv4: 10.93.0.11/24, mtu: 1450 } }
    exec: ["ping -c 1 -W 3 10.93.0.1 && echo reached > /tmp/started"]
  b2: { kind: host, interfaces: { eth1: { ipv4: 10.93.0.12/24, mtu: 1450 }, eth2: { ipv4: 10.94.0.1/30 } } }
  b3: { kind: host, interfaces: { eth1: { ipv4: 10.95.0.3/24, mtu: 1450 } } }
  b4: { kind: host, interfaces: { eth1: { ipv4: 10.94.0.2/30 } } }
  a3: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.95.0.1/24, mtu: 1450 } } }
switches:
  sw-a: {}
  sw-b: {}
  sw-c: {}
links:
  - endpoints: [a1:eth1, sw-a]
  - endpoints: [a2:eth1, sw-a]
  - endpoints: [b1:eth1, sw-b]
  - endpoints: [b2:eth1, sw-b]
  - endpoints: [b2:eth2, b4:eth1]
  - endpoints: [a3:eth1, sw-c]
  - endpoints: [b3:eth1, sw-c]
  - { name: overlay, type: vxlan, endpoints: [sw-a, sw-b], vni: 93 }
`;

function inventory(m: SecondMachine, docker = m.docker, ca = m.tls.ca): string {
  return `profile: two-machines
machines:
  m2:
    docker: ${docker}
    tls: { ca: ${JSON.stringify(ca)}, cert: ${JSON.stringify(m.tls.cert)}, key: ${JSON.stringify(m.tls.key)} }
    vtep: ${m.vtep}
    local_vtep: ${m.localVtep}
placement: { sw-b: m2, b1: m2, b2: m2, b3: m2, b4: m2 }
`;
}

async function labWith(inv: string, name = 'two-machines'): Promise<{ lab: Lab; file: string }> {
  const file = join(dir, `${LAB}.yaml`);
  writeFileSync(file, TOPOLOGY);
  writeFileSync(join(dir, `${LAB}.${name}.yaml`), inv);
  return { lab: loadInventory(join(dir, `${LAB}.${name}.yaml`), await loadTopology(file)), file };
}

/** The part of a snapshot of this machine that this test's lab could leave (other sessions' labs come and go). */
const ID = labId(LAB);
function mine(s: MachineSnapshot): MachineSnapshot {
  return {
    containers: s.containers.filter((c) => c.includes(`tsunagari-${LAB}.`)),
    bridges: s.bridges.filter((b) => b.startsWith(`t${ID}`)),
    links: s.links.filter((l) => l.startsWith(`t${ID}`) || /^u\d+[ab]$/.test(l)),
    netns: s.netns.filter((n) => n.startsWith(`tsunagari-${LAB}.`)),
  };
}

/** What the second machine holds that a lab could leave: containers, interfaces of its namespace, agent. */
async function remoteState(): Promise<{ containers: string[]; links: string[] }> {
  const containers = (await remote.listContainers({ all: true })).map((c) => c.Names.join(',')).sort();
  const links = (JSON.parse(await runOk('ip', ['-n', M2.netns, '-j', 'link', 'show'])) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  return { containers, links };
}

before(async () => {
  m2 = await secondMachineUp();
  remote = localDocker(m2.socket);
  before0 = await snapshot(ctx, [LAB]);
});

after(async () => {
  await teardown(ctx, LAB).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  // A SIGKILL between the ledger's write and rename leaves its temporary file.
  for (const f of readdirSync(paths.labs).filter((n) => n.startsWith(`${LAB}.json.tmp.`))) rmSync(join(paths.labs, f), { force: true });
  await secondMachineDown();
  assert.deepEqual(await secondMachineTraces(), [], 'the stand-in left nothing');
});

test('a lab across two machines comes up, forwards both ways, runs commands on remote nodes, and goes away on both sides', async () => {
  const { lab } = await labWith(inventory(m2));
  assert.deepEqual(lab.nodes.filter((n) => n.machine).map((n) => n.name), ['b1', 'b2', 'b3', 'b4']);
  assert.ok(lab.links.some((l) => l.type === 'vxlan' && l.name === 'sw-c@m2'), 'sw-c is stretched to m2');
  const remote0 = await remoteState();
  await up(ctx, lab);
  try {
    const r = openLab(ctx, LAB);
    const a1 = (await r.handle('a1')).netnsPath;
    // here → there: over the overlay between the machines (sw-a ↔ sw-b), and over the stretched sw-c
    assert.equal((await reach(a1, '10.93.0.11')).ok, true, 'a1 → b1 over the overlay between the machines');
    assert.equal((await reach(a1, '10.93.0.12')).ok, true, 'a1 → b2');
    assert.equal((await reach((await r.handle('a3')).netnsPath, '10.95.0.3')).ok, true, 'a3 → b3 over the stretched sw-c');
    // there → here, probing inside the remote node through its machine's agent
    const b3 = r.probeRunner('b3');
    assert.ok(b3);
    assert.equal((await reach(b3, '10.95.0.1')).ok, true, 'b3 → a3 (probe on m2)');
    // the start command of b1 reached a1 across the machines
    assert.equal((await r.exec('b1', ['cat', '/tmp/started'])).stdout.trim(), 'reached');
    // commands in remote nodes run through the remote engine
    const ex = await r.exec('b4', ['sh', '-c', 'hostname; ip -o -4 addr show dev eth1; ping -c 1 -W 2 10.94.0.1 >/dev/null && echo veth-ok']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /^b4\n/);
    assert.match(ex.stdout, /10\.94\.0\.2\/30/);
    assert.match(ex.stdout, /veth-ok/, 'b4 → b2 over a veth on m2');
    const prefix = await r.commandPrefix('b2');
    assert.deepEqual(prefix.slice(0, 3), ['docker', '--host', m2.docker]);
    // a remote node's namespace is never entered here
    await assert.rejects(r.handle('b2'), /cannot use node b2 of lab mtwo here \(it runs on machine m2/);
    // ownership on the second machine: labelled containers (with the machine), bridges, ports, VXLAN devices
    const found = await discoverLab(ctx, LAB);
    const onM2 = found.remote.find((f) => f.machine.name === 'm2');
    assert.ok(onM2);
    assert.deepEqual(onM2.containers.map((c) => c.node).sort(), ['b1', 'b2', 'b3', 'b4']);
    assert.deepEqual(onM2.bridges.map((b) => b.label).sort(), ['sw-b', 'sw-c']);
    assert.ok(onM2.hostIfs.length >= 5, 'switch ports and VXLAN devices on m2 carry the lab label');
    const labels = (await remote.listContainers({ filters: JSON.stringify({ label: [`tsunagari.lab=${LAB}`] }) })).map((c) => c.Labels);
    assert.equal(labels.every((l) => l['tsunagari.machine'] === 'm2' && l['tsunagari.run'] === found.containers[0]?.run), true);
    // the ledger records the machine by paths only
    const led = Ledger.read(LAB);
    assert.equal(led?.data.machines?.[0]?.machine.tls?.key, m2.tls.key);
    assert.doesNotMatch(JSON.stringify(led?.data), /PRIVATE KEY/);
    assert.equal(registered().some((e) => e.labs.includes(LAB)), true, 'registered before anything was created there');
    // a link between the machines goes down and up (its devices on both machines)
    const undo = await linkDown(r, 'overlay');
    assert.equal((await confirmUnreachable(a1, '10.93.0.11', { probes: 2 })).unreachable, true, 'overlay down: a1 no longer reaches b1');
    await undo();
    await until('a1 reaches b1 again', 5000, async () => ((await reach(a1, '10.93.0.11', { attempts: 1 })).ok ? true : undefined));
  } finally {
    await teardown(ctx, LAB);
  }
  assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
  assert.deepEqual(mine(await snapshot(ctx, [LAB])), mine(before0), 'this machine is as it was');
  assert.deepEqual(await remoteState(), remote0, 'the second machine is as it was (no containers, no agent, no interfaces)');
  assert.equal(registered().length, 0, 'the machine left the registry');
});

/** `tsunagari up --profile two-machines FILE`, SIGKILLed once `after` shows in its output (or when it is up). */
function upAndKill(file: string, afterLine: RegExp): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tsunagari.js', 'up', '--profile', 'two-machines', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (!sent && afterLine.test(out)) { sent = true; child.kill('SIGKILL'); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`tsunagari up did not finish in time:\n${out}`)); }, 120_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ out, code }); });
  });
}

for (const [when, line] of [['during up (after a node on m2 was created)', /✓ node\s+\S+ \(on m2\)/], ['after up', /lab mtwo is up/]] as const) {
  test(`a run SIGKILLed ${when} is cleaned up on both machines by cleanupAll`, async () => {
    const { file } = await labWith(inventory(m2));
    const remote0 = await remoteState();
    const r = await upAndKill(file, line);
    assert.equal(r.code, null, r.out);
    // The engines may still finish what the killed client had asked for: wait until it stops changing.
    let left = await discoverLab(ctx, LAB);
    for (let i = 0, prev = -1; i < 20 && left.count !== prev; i++) {
      prev = left.count;
      await new Promise((res) => setTimeout(res, 300));
      left = await discoverLab(ctx, LAB);
    }
    assert.ok(left.remote.some((f) => f.containers.length > 0), `the killed run left containers on m2:\n${r.out}`);
    assert.ok(registered().some((e) => e.labs.includes(LAB)), 'the registry knows the machine');
    // cleanupAll, restricted to this test's lab: other sessions' labs on this machine are not ours to remove.
    // `all`: killed after up, `tsunagari up` had already handed the lab over as kept (docs/instances.md).
    await cleanupAll(ctx, { only: (l) => l === LAB, all: true });
    assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
    assert.deepEqual(mine(await snapshot(ctx, [LAB])), mine(before0));
    assert.deepEqual(await remoteState(), remote0);
    assert.equal(registered().length, 0);
  });
}

test('a killed run whose ledger is gone is still found through the machine registry', async () => {
  const { file } = await labWith(inventory(m2));
  const r = await upAndKill(file, /lab mtwo is up/);
  assert.equal(r.code, null, r.out);
  Ledger.read(LAB)?.remove();
  const found = await discoverLab(ctx, undefined);
  assert.ok(found.remote.some((f) => f.containers.some((c) => c.lab === LAB)), 'found on m2 without a ledger');
  await cleanupAll(ctx, { only: (l) => l === LAB });   // no ledger, nobody holds it: dead
  const rest = await remote.listContainers({ all: true });
  assert.deepEqual(rest.map((c) => `${c.Names.join(',')} ${c.State} ${JSON.stringify(c.Labels)}`), []);
  assert.equal(registered().length, 0);
  assert.deepEqual(mine(await snapshot(ctx, [LAB])), mine(before0));
});

test('an engine that does not answer, or does not prove who it is, fails the lab at once with one clear error', async () => {
  const closed = await labWith(inventory(m2, `tcp://${M2.address}:2399`));
  await assert.rejects(up(ctx, closed.lab),
    /^UserError: cannot reach machine m2 \(tcp:\/\/198\.18\.253\.2:2399\) \(connection refused: no engine listens there\); hint: check that its dockerd listens there with --tlsverify/);
  // The client certificate as CA: the engine's certificate cannot be verified.
  const untrusted = await labWith(inventory(m2, m2.docker, m2.tls.cert));
  await assert.rejects(up(ctx, untrusted.lab), /cannot reach machine m2 \(tcp:\/\/198\.18\.253\.2:2376\) \(TLS handshake failed/);
  // An unset variable in a path is named.
  const unset = await labWith(inventory(m2, m2.docker, '${TSUNAGARI_NO_SUCH_VAR}/ca.pem'));
  await assert.rejects(up(ctx, unset.lab), /cannot reach machine m2 .*environment variable TSUNAGARI_NO_SUCH_VAR is not set/);
  assert.equal(Ledger.read(LAB), undefined);
  assert.equal(registered().length, 0);
  assert.deepEqual(mine(await snapshot(ctx, [LAB])), mine(before0));
  assert.equal((await remote.listContainers({ all: true })).filter((c) => c.Names.includes(`/${AGENT_CONTAINER}`)).length, 0);
});

test('an engine reached over SSH (docker system dial-stdio there) carries nodes too; a host key other than the known one is refused', async () => {
  const ssh = await secondMachineSsh();
  try {
    const inv = (knownHosts: string): string => `profile: two-machines
machines:
  m2:
    docker: ${ssh.docker}
    ssh: { known_hosts: ${JSON.stringify(knownHosts)}, private_key_file: ${JSON.stringify(ssh.privateKeyFile)} }
    vtep: ${m2.vtep}
placement: { b3: m2 }
`;
    const remote0 = await remoteState();
    const wrong = await labWith(inv(ssh.wrongKnownHosts));
    await assert.rejects(up(ctx, wrong.lab), /cannot reach machine m2 \(ssh:\/\/root@198\.18\.253\.2:2222\) \(its SSH host key is not the key for it in .*known_hosts\.wrong; the connection was refused\)/);
    const { lab } = await labWith(inv(ssh.knownHosts));
    await up(ctx, lab);
    try {
      const r = openLab(ctx, LAB);
      assert.equal((await reach((await r.handle('a3')).netnsPath, '10.95.0.3')).ok, true, 'a3 → b3 on m2 (reached over SSH)');
      assert.equal((await r.exec('b3', ['hostname'])).stdout.trim(), 'b3');
      assert.deepEqual((await r.commandPrefix('b3')).slice(0, 3), ['docker', '--host', ssh.docker]);
    } finally {
      await teardown(ctx, LAB);
    }
    assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
    assert.deepEqual(await remoteState(), remote0);
    assert.equal(registered().length, 0);
  } finally {
    await secondMachineSshStop();
  }
});
