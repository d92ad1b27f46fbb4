// Placement of nodes and switches on other machines (pure): checks, stretched switches, VXLAN between
// machines, and what each machine creates (slices); docker URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../../src/topology/load.js';
import { applyPlacement, stretchVni } from '../../../src/machines/placement.js';
import { sliceFor } from '../../../src/machines/slice.js';
import { parseDockerUrl } from '../../../src/machines/machine.js';
import type { Machine, VxlanLink } from '../../../src/topology/types.js';

const M2: Machine = { name: 'm2', docker: 'tcp://192.0.2.2:2376', tls: { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem' }, vtep: '192.0.2.2', localVtep: '192.0.2.1' };
const M3: Machine = { name: 'm3', docker: 'ssh://root@192.0.2.3', vtep: '192.0.2.3' };

const TOPO = `name: plc
nodes:
  a: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.0.0.1/24 } } }
  b: { kind: host, interfaces: { eth1: { ipv4: 10.0.0.2/24 }, eth2: { ipv4: 10.1.0.1/30 } } }
  c: { kind: host, interfaces: { eth1: { ipv4: 10.1.0.2/30 } } }
  d: { kind: host, interfaces: { eth1: { ipv4: 10.2.0.4/24 } } }
switches:
  s1: {}
  s2: {}
links:
  - endpoints: [a:eth1, s1]
  - endpoints: [b:eth1, s1]
  - endpoints: [b:eth2, c:eth1]
  - endpoints: [d:eth1, s2]
  - { name: ov, type: vxlan, endpoints: [s1, s2], vni: 5 }
`;
const lab = parseTopology(TOPO, 'plc.yaml', process.cwd());

test('a switch with members on two machines is stretched: one VXLAN from its own bridge to each other machine', () => {
  const { lab: p, problems } = applyPlacement(lab, { machines: [M2], placement: { b: 'm2', c: 'm2' } });
  assert.deepEqual(problems, []);
  assert.deepEqual(p.nodes.map((n) => [n.name, n.machine]), [['a', undefined], ['b', 'm2'], ['c', 'm2'], ['d', undefined]]);
  const st = p.links.find((l) => l.name === 's1@m2') as VxlanLink;
  assert.equal(st.stretch, true);
  assert.deepEqual([st.a, st.b], [
    { kind: 'switch', switch: 's1', hostIf: st.a.kind === 'switch' ? st.a.hostIf : '', local: '192.0.2.1' },
    { kind: 'switch', switch: 's1', hostIf: st.a.kind === 'switch' ? st.a.hostIf : '', local: '192.0.2.2', machine: 'm2' },
  ]);
  assert.ok(st.vni >= 0x800000 && st.vni <= 0xffffff);
  assert.deepEqual(p.machines?.map((m) => m.name), ['m2']);
  // What each machine creates: here a, d, both bridges, the VXLAN towards m2; m2: b, c, a bridge s1, the veth.
  const here = sliceFor(p, undefined);
  assert.deepEqual(here.nodes.map((n) => n.name), ['a', 'd']);
  assert.deepEqual(here.switches.map((s) => s.name), ['s1', 's2']);
  const there = sliceFor(p, 'm2');
  assert.deepEqual(there.nodes.map((n) => n.name), ['b', 'c']);
  assert.deepEqual(there.switches.map((s) => s.name), ['s1']);
  assert.deepEqual(there.links.map((l) => l.name).sort(), ['b:eth1--s1', 'b:eth2--c:eth1', 's1@m2']);
  const mine = there.links.find((l) => l.name === 's1@m2') as VxlanLink;
  assert.deepEqual(mine.b, { kind: 'remote', address: '192.0.2.1' }, 'on m2 the stretch is a VXLAN towards this machine');
  assert.equal(mine.a.kind === 'switch' && mine.a.local, '192.0.2.2');
});

test('a switch↔switch VXLAN between machines uses their addresses, not a private underlay', () => {
  const { lab: p, problems } = applyPlacement(lab, { machines: [M2], placement: { s2: 'm2', d: 'm2' } });
  assert.deepEqual(problems, []);
  const ov = p.links.find((l) => l.name === 'ov') as VxlanLink;
  assert.equal(ov.underlay, undefined);
  assert.deepEqual([ov.a, ov.b].map((s) => (s.kind === 'switch' ? [s.switch, s.local, s.machine, s.underlayNs] : [])),
    [['s1', '192.0.2.1', undefined, undefined], ['s2', '192.0.2.2', 'm2', undefined]]);
  assert.equal(p.links.some((l) => l.name.includes('@')), false, 'nothing stretched');
  const here = sliceFor(p, undefined).links.find((l) => l.name === 'ov') as VxlanLink;
  assert.deepEqual(here.b, { kind: 'remote', address: '192.0.2.2' });
});

test('what cannot be placed is refused, one message each, naming the node and the fix', () => {
  const { problems } = applyPlacement(lab, { machines: [M2, M3], placement: { a: 'm2', b: 'm3', x: 'm2', d: 'm9' } });
  const msgs = problems.map((p) => `${p.object}: ${p.message}`);
  assert.deepEqual(msgs, [
    'placement of x: unknown node or switch x; known: a, b, c, d, s1, s2',
    'placement of d: machine m9 is not declared under machines:; known: m2, m3',
    'node a: a netns node (a bare network namespace of this machine) cannot be placed on machine m2; hint: give a runtime: docker in the topology, or leave it unplaced',
    'link b:eth2--c:eth1: a veth cannot cross machines (node b is on machine m3, node c on this machine); hint: join them through a switch (it is stretched between the machines), or place both on the same machine',
  ]);
  const same = applyPlacement(lab, { machines: [M2], placement: { s1: 'm2', s2: 'm2' } });
  assert.match(same.problems[0]!.message, /both switches of this VXLAN \(s1, s2\) are on machine m2, which is not supported/);
});

test('stretch VNIs are deterministic and stay clear of the lab\'s own', () => {
  const v = stretchVni('abcdef', 1, 1, new Set());
  assert.equal(stretchVni('abcdef', 1, 1, new Set()), v);
  assert.equal(stretchVni('abcdef', 1, 1, new Set([v])), v + 1);
  assert.notEqual(stretchVni('abcdef', 2, 1, new Set()), v);
});

test('docker URLs: tcp with a port, ssh with a user; anything else is explained', () => {
  assert.deepEqual(parseDockerUrl('tcp://198.18.253.2:2376'), { kind: 'tcp', host: '198.18.253.2', port: 2376 });
  assert.deepEqual(parseDockerUrl('ssh://ops@m2.example:2222'), { kind: 'ssh', user: 'ops', host: 'm2.example', port: 2222 });
  assert.deepEqual(parseDockerUrl('ssh://ops@m2'), { kind: 'ssh', user: 'ops', host: 'm2', port: 22 });
  assert.match(parseDockerUrl('tcp://h') as string, /needs a port/);
  assert.match(parseDockerUrl('ssh://h') as string, /needs a user/);
  assert.match(parseDockerUrl('unix:///var/run/docker.sock') as string, /scheme must be tcp:\/\/ .* or ssh:\/\//);
  assert.match(parseDockerUrl('nonsense') as string, /is not a URL/);
});

test('how long an engine may take to answer: connect_timeout_ms from the inventory, else 5 s for tcp://, 20 s for ssh://', async () => {
  const { loadTopology } = await import('../../../src/topology/load.js');
  const { parseInventory } = await import('../../../src/topology/inventory.js');
  const { pingTimeoutMs } = await import('../../../src/machines/engine.js');
  const lab = await loadTopology('topologies/two-sites.yaml');
  const inv = (extra: string) => parseInventory(`profile: two-machines\nmachines:\n  m2:\n    docker: ssh://root@192.0.2.2\n    ssh: { known_hosts: /k, agent: true }\n    vtep: 192.0.2.2\n${extra}placement: { sw-b: m2, server: m2, b2: m2 }\n`,
    'topologies/two-sites.two-machines.yaml', lab);
  assert.equal(inv('    connect_timeout_ms: 45000\n').machines![0]!.connectTimeoutMs, 45000);
  assert.equal(pingTimeoutMs(inv('').machines![0]!), 20_000);
  assert.equal(pingTimeoutMs(M2), 5_000);
  assert.equal(pingTimeoutMs({ ...M2, connectTimeoutMs: 800 }), 800);
  assert.throws(() => inv('    connect_timeout_ms: 10\n'), /connect_timeout_ms/);
});
