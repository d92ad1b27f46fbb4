// The management network on paper: naming, default subnet choice (per lab, away from the lab's own
// addresses and from other labs'), addresses handed out, resolution of managed nodes, and the validator's
// rules (mgmt0 reserved, subnet room and overlap, management without managed nodes). The frr kind's
// service text: default daemons file = fixtures/frr/daemons, supervisor script valid bash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserErrors } from '../../../src/util/errors.js';
import { parseTopology } from '../../../src/topology/load.js';
import { parseCidr } from '../../../src/topology/address.js';
import { KINDS } from '../../../src/topology/kinds.js';
import {
  labId, mgmtBridgeName, mgmtGatewayPortName, mgmtNetnsName, mgmtPortName, isValidIfName,
} from '../../../src/topology/naming.js';
import {
  MANAGEMENT_POOL, avoidOtherLabs, defaultManagementSubnet, managementAddresses, overlaps, resolvedLabPrefixes, usableHosts,
} from '../../../src/topology/management.js';
import { FRR_SERVICE, defaultDaemonsFile, supervisorScript } from '../../../src/topology/frr.js';
import { nodeManagementLines } from '../../../src/lab/management.js';
import type { Node } from '../../../src/topology/types.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
process.chdir(root);
const cidr = (s: string) => parseCidr(s)!;

const LAB = `
name: mlab
nodes:
  h1:
    kind: host
    interfaces: { eth1: { ipv4: 10.9.1.10/24 } }
    gateway: 10.9.1.1
  r1:
    kind: frr
    interfaces:
      eth1: { ipv4: 10.9.1.1/24 }
      eth2: { ipv4: 10.9.0.1/30 }
  r2:
    kind: frr
    interfaces:
      eth2: { ipv4: 10.9.0.2/30 }
links:
  - endpoints: [h1:eth1, r1:eth1]
  - endpoints: [r1:eth2, r2:eth2]
`;

test('naming: management namespace, bridge and ports fit the scheme and IFNAMSIZ', () => {
  const id = labId('dual-path');
  assert.equal(mgmtNetnsName('dual-path'), 'tsunagari-dual-path._mgmt');
  assert.equal(mgmtBridgeName(id), `t${id}m`);
  assert.equal(mgmtPortName(id, 3), `t${id}m3`);
  assert.equal(mgmtGatewayPortName(id), `t${id}mg`);
  for (const n of [mgmtBridgeName(id), mgmtPortName(id, 999), mgmtGatewayPortName(id)]) assert.ok(isValidIfName(n), n);
  // distinct from the other host-side names of the same lab (b = bridge, p = port, x = VXLAN)
  assert.notEqual(mgmtBridgeName(id).slice(7, 8), 'b');
});

test('subnet arithmetic: overlap, room, addresses (gateway first)', () => {
  assert.equal(overlaps(cidr('10.0.0.0/8'), cidr('10.1.2.0/24')), true);
  assert.equal(overlaps(cidr('10.1.2.0/24'), cidr('10.0.0.0/8')), true);
  assert.equal(overlaps(cidr('10.1.2.0/24'), cidr('10.1.3.0/24')), false);
  assert.equal(overlaps(cidr('10.1.2.0/24'), cidr('10.1.2.255/32')), true);
  assert.equal(overlaps(cidr('10.0.0.0/8'), cidr('fd00::/8')), false);
  assert.equal(usableHosts(cidr('172.31.255.0/24')), 254n);
  assert.equal(usableHosts(cidr('172.31.255.0/30')), 2n);
  assert.deepEqual(managementAddresses('172.31.255.0/24', 2), { gateway: '172.31.255.1/24', nodes: ['172.31.255.2/24', '172.31.255.3/24'] });
  assert.throws(() => managementAddresses('172.31.255.0/30', 2), /no room for 2 nodes and the gateway/);
});

test('default subnet: a /24 of the pool per lab, stable, different for different labs, away from what it must avoid', () => {
  const a = defaultManagementSubnet('dual-path', []);
  assert.equal(defaultManagementSubnet('dual-path', []), a, 'deterministic');
  const pool = cidr(MANAGEMENT_POOL);
  assert.ok(overlaps(cidr(a), pool) && cidr(a).prefix === 24, a);
  const names = ['dual-path', 'home-nat', 'two-sites', 'frrlab', 'drivers', 'lab1', 'lab2', 'lab3'];
  assert.equal(new Set(names.map((n) => defaultManagementSubnet(n, []))).size, names.length, 'eight labs, eight subnets');
  // the chosen /24 and the whole pool around it are avoided in turn
  const b = defaultManagementSubnet('dual-path', [cidr(a)]);
  assert.notEqual(b, a);
  assert.equal(overlaps(cidr(b), cidr(a)), false);
  const wide = defaultManagementSubnet('dual-path', [cidr(`${a.split('.').slice(0, 2).join('.')}.0.0/16`)]);
  assert.notEqual(wide.split('.').slice(0, 2).join('.'), a.split('.').slice(0, 2).join('.'));
  assert.throws(() => defaultManagementSubnet('x', [pool]), /no free \/24 left in 172\.16\.0\.0\/12/);
});

test('resolution: managed nodes get mgmt0 addresses in file order; other nodes get nothing', () => {
  const lab = parseTopology(LAB, 'mlab.yaml', root);
  const id = labId('mlab');
  const subnet = defaultManagementSubnet('mlab', resolvedLabPrefixes(lab));
  const addrs = managementAddresses(subnet, 2);
  assert.deepEqual(lab.management, {
    subnet, defaulted: true, gateway: addrs.gateway, netns: 'tsunagari-mlab._mgmt', bridge: `t${id}m`, gatewayIf: `t${id}mg`,
  });
  assert.equal(lab.nodes.find((n) => n.name === 'h1')!.management, undefined);
  assert.deepEqual(lab.nodes.find((n) => n.name === 'r1')!.management, { iface: 'mgmt0', address: addrs.nodes[0], hostIf: `t${id}m1` });
  assert.deepEqual(lab.nodes.find((n) => n.name === 'r2')!.management, { iface: 'mgmt0', address: addrs.nodes[1], hostIf: `t${id}m2` });
  // mgmt0 is not a data-plane interface: targets, graphs and link checks never see it
  for (const n of lab.nodes) assert.ok(!n.interfaces.some((i) => i.name === 'mgmt0'));
  const r1 = lab.nodes.find((n) => n.name === 'r1')!;
  assert.deepEqual([r1.kind, r1.image, r1.capabilities, r1.sysctls], ['frr', 'tsunagari/debian:latest', ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
    { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' }]);

  const fixed = parseTopology(`${LAB}management:\n  subnet: 172.31.255.0/24\n`, 'mlab.yaml', root);
  assert.deepEqual([fixed.management!.subnet, fixed.management!.defaulted, fixed.management!.gateway], ['172.31.255.0/24', false, '172.31.255.1/24']);
  assert.deepEqual(fixed.nodes.flatMap((n) => (n.management ? [n.management.address] : [])), ['172.31.255.2/24', '172.31.255.3/24']);

  const none = parseTopology('name: plain\nnodes:\n  h1: { kind: host }\n', 'plain.yaml', root);
  assert.equal(none.management, undefined, 'no managed node, no management network');
});

test('the default subnet avoids the lab\'s own addresses and routes', () => {
  const target = defaultManagementSubnet('mlab', []);
  // a lab that uses exactly the subnet mlab would get, plus a route over the next one
  const next = defaultManagementSubnet('mlab', [cidr(target)]);
  const [a, b, c] = target.split('.');
  const text = LAB.replace('10.9.1.10/24', `${a}.${b}.${c}.10/24`).replace('10.9.1.1/24', `${a}.${b}.${c}.1/24`)
    .replace('gateway: 10.9.1.1', `gateway: ${a}.${b}.${c}.1\n    routes: [{ to: ${next}, via: ${a}.${b}.${c}.1 }]`);
  const lab = parseTopology(text, 'mlab.yaml', root);
  assert.notEqual(lab.management!.subnet, target);
  assert.notEqual(lab.management!.subnet, next);
  for (const p of resolvedLabPrefixes(lab)) assert.equal(overlaps(p, cidr(lab.management!.subnet)), false);
});

test('another lab\'s management subnet moves a defaulted one away; a subnet from the file stays', () => {
  const lab = parseTopology(LAB, 'mlab.yaml', root);
  assert.equal(avoidOtherLabs(lab, ['10.200.0.0/24']), lab, 'no clash: the same object');
  const moved = avoidOtherLabs(lab, [lab.management!.subnet]);
  assert.notEqual(moved.management!.subnet, lab.management!.subnet);
  const addrs = managementAddresses(moved.management!.subnet, 2);
  assert.equal(moved.management!.gateway, addrs.gateway);
  assert.deepEqual(moved.nodes.flatMap((n) => (n.management ? [n.management.address] : [])), addrs.nodes);
  assert.equal(lab.nodes.find((n) => n.name === 'r1')!.management!.address, managementAddresses(lab.management!.subnet, 2).nodes[0], 'the input is not changed');
  const fixed = parseTopology(`${LAB}management: { subnet: 172.31.255.0/24 }\n`, 'mlab.yaml', root);
  assert.equal(avoidOtherLabs(fixed, ['172.31.255.0/24']), fixed);
});

test('validation: mgmt0 reserved, node name mgmt reserved, subnet room/overlap/host bits, management without managed nodes', () => {
  const errors = (text: string): string[] => {
    try { parseTopology(text, 't.yaml', root); } catch (e) { if (e instanceof UserErrors) return e.errors; throw e; }
    return [];
  };
  assert.deepEqual(errors(LAB), []);
  assert.deepEqual(errors(LAB.replace('eth2: { ipv4: 10.9.0.2/30 }', 'eth2: { ipv4: 10.9.0.2/30 }\n      mgmt0: { ipv4: 192.0.2.2/24 }')),
    ['t.yaml:17:7: node r2, interface mgmt0: mgmt0 is reserved for the management network (tsunagari adds it to managed nodes); hint: use another name such as eth9']);
  // reserved on any node, managed or not
  assert.equal(errors(LAB.replace('interfaces: { eth1: { ipv4: 10.9.1.10/24 } }', 'interfaces: { eth1: { ipv4: 10.9.1.10/24 }, mgmt0: {} }')).length, 1);
  assert.deepEqual(errors(`${LAB}management: { subnet: 10.9.0.0/23 }\n`),
    ["t.yaml:20:23: management: subnet 10.9.0.0/23 overlaps the lab's own addresses: node h1, interface eth1 10.9.1.10/24, node r1, interface eth1 10.9.1.1/24, node r1, interface eth2 10.9.0.1/30 and 1 more; hint: pick a prefix the lab does not use, or leave subnet: out"]);
  assert.deepEqual(errors(`${LAB}management: { subnet: 172.31.255.0/31 }\n`),
    ['t.yaml:20:23: management: subnet 172.31.255.0/31 has room for 2 addresses; the gateway and 2 managed nodes (r1, r2) need 3']);
  assert.deepEqual(errors(`${LAB}management: { subnet: 172.31.255.7/29 }\n`),
    ['t.yaml:20:23: management: subnet 172.31.255.7/29 has host bits set; hint: did you mean 172.31.255.0/29?']);
  assert.deepEqual(errors('name: p\nmanagement: { subnet: 172.31.255.0/24 }\nnodes:\n  h1: { kind: host }\n'),
    ['t.yaml:2:1: management: no node is managed (managed kinds: frr); hint: remove management:']);
  assert.deepEqual(errors(LAB.replace(/\bh1\b/g, 'mgmt')),
    ['t.yaml:4:3: node mgmt: name mgmt is reserved in a lab with managed nodes (tsunagari-mlab._mgmt is its management namespace); hint: rename the node']);
  assert.deepEqual(errors('name: p\nnodes:\n  mgmt: { kind: host }\n'), [], 'without managed nodes the name is free');
});

test('mgmt0 brings only its subnet: address, link up, and rules that keep the data plane out', () => {
  const node = { name: 'r1', management: { iface: 'mgmt0', address: '172.31.255.2/24', hostIf: 'tabcdefm1' } } as Node;
  assert.deepEqual(nodeManagementLines(node, '172.31.255.0/24'), [
    'addr add 172.31.255.2/24 dev mgmt0',
    'link set dev mgmt0 up',
    'rule add pref 1000 to 172.31.255.0/24 iif lo lookup main',
    'rule add pref 1001 to 172.31.255.0/24 iif mgmt0 lookup main',
    'rule add pref 1002 to 172.31.255.0/24 prohibit',
  ]);
  assert.ok(!nodeManagementLines(node, '172.31.255.0/24').some((l) => /default|0\.0\.0\.0/.test(l)), 'never a default route');
  assert.deepEqual(nodeManagementLines({ name: 'h1' } as Node, '172.31.255.0/24'), []);
});

test('frr kind: default daemons file = fixtures/frr/daemons, supervisor is valid bash, start lines, subshell health check', () => {
  assert.equal(readFileSync('fixtures/frr/daemons', 'utf8'), defaultDaemonsFile());
  for (const d of ['ospfd', 'bgpd', 'bfdd', 'staticd']) assert.match(defaultDaemonsFile(), new RegExp(`^${d}=yes$`, 'm'));
  const bash = spawnSync('bash', ['-n'], { input: supervisorScript() });
  assert.equal(bash.status, 0, bash.stderr.toString());
  assert.equal(KINDS.frr!.service, FRR_SERVICE);
  assert.equal(KINDS.frr!.managed, true);
  const env = (files: Node['files']) => ({ lab: 'l', node: { name: 'r1', files } as Node, dir: '/var/log/tsunagari', nodeBin: '/usr/bin/node', root: '/x' });
  const withDefault = FRR_SERVICE.start(env([]));
  assert.ok(withDefault.some((l) => l.startsWith('cat >/etc/frr/daemons <<')), 'no daemons file given: the default is written');
  const own = FRR_SERVICE.start(env([{ src: '/tmp/daemons', dst: '/etc/frr/daemons', mode: 'copy' }]));
  assert.ok(!own.some((l) => l.startsWith('cat >/etc/frr/daemons')), 'the node\'s own daemons file is kept');
  assert.ok(own.some((l) => l.includes("ssh-keygen -q -t ed25519 -N '' -C root@r1 -f /etc/ssh/ssh_host_ed25519_key")));
  assert.match(own.at(-1)!, /^setsid \/usr\/local\/sbin\/tsunagari-frr \/var\/log\/tsunagari .*& echo \$! >\/var\/log\/tsunagari\/frr\.pid$/);
  const ready = FRR_SERVICE.ready.command(env([]));
  assert.ok(ready.startsWith('( ') && ready.endsWith(' )'), 'a subshell: its exit must not end the engine\'s check line');
  assert.match(ready, /vtysh -c 'show version'/);
  assert.match(ready, /\/dev\/tcp\/127\.0\.0\.1\/22/);
  assert.equal(FRR_SERVICE.reason!(env([])), '/var/log/tsunagari/frr.failed');
});
