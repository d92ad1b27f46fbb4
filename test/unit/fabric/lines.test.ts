import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeConfigLines } from '../../../src/fabric/node-config.js';
import { vxlanAddLine, vxlanNodeLine, vxlanHostIfs } from '../../../src/fabric/vxlan.js';
import { switchPortLines, switchPortSpec } from '../../../src/fabric/switchport.js';
import { vethLines } from '../../../src/fabric/veth.js';
import type { Node, VxlanLink, SwitchLink } from '../../../src/topology/types.js';

const node: Node = {
  name: 'client', kind: 'host', runtime: 'netns', container: 'c', netns: 'n', capabilities: [], sysctls: {}, files: [], exec: [], env: {},
  interfaces: [
    { name: 'eth1', addresses: ['10.0.1.10/24', '2001:db8:1::10/64'], mtu: 1450, mac: '02:00:00:00:01:10', link: 'l1' },
    { name: 'lo', addresses: ['192.0.2.1/32'] },
  ],
  routes: [{ to: 'default', via: '10.0.1.1', family: 4 }, { to: 'default', via: '2001:db8:1::1', family: 6 }, { to: '10.9.0.0/16', dev: 'eth1', family: 4 }],
};

test('node configuration is one ip batch: MAC and MTU before up, IPv6 without DAD, routes last', () => {
  assert.deepEqual(nodeConfigLines(node), [
    'link set dev lo up',
    'link set dev eth1 address 02:00:00:00:01:10',
    'link set dev eth1 mtu 1450',
    'addr add 10.0.1.10/24 dev eth1',
    'addr add 2001:db8:1::10/64 dev eth1 nodad',
    'link set dev eth1 up',
    'addr add 192.0.2.1/32 dev lo',
    'route add 0.0.0.0/0 via 10.0.1.1',
    'route add ::/0 via 2001:db8:1::1',
    'route add 10.9.0.0/16 dev eth1',
  ]);
});

const vx: VxlanLink = {
  type: 'vxlan', name: 'overlay', vni: 77, dstport: 4789, udpChecksum: false,
  a: { kind: 'node', node: 'h1', iface: 'vx77', local: '10.0.0.1' },
  b: { kind: 'node', node: 'h2', iface: 'vx77', local: '10.0.0.2' },
};

test('VXLAN devices carry VNI, endpoints, port and checksum choice', () => {
  assert.equal(vxlanAddLine(vx, 'vx77', '10.0.0.1', '10.0.0.2'), 'link add vx77 type vxlan id 77 local 10.0.0.1 remote 10.0.0.2 dstport 4789 noudpcsum');
  assert.equal(vxlanAddLine({ ...vx, udpChecksum: true }, 'x', undefined, '198.51.100.2'), 'link add x type vxlan id 77 remote 198.51.100.2 dstport 4789 udpcsum');
  assert.deepEqual(vxlanNodeLine(vx, 'b'), { node: 'h2', line: 'link add vx77 type vxlan id 77 local 10.0.0.2 remote 10.0.0.1 dstport 4789 noudpcsum' });
  assert.deepEqual(vxlanHostIfs(vx), []);
  const sw: VxlanLink = { ...vx, a: { kind: 'switch', switch: 'sa', hostIf: 'tabcdefx6a', local: '' }, b: { kind: 'remote', address: '198.51.100.2' } };
  assert.deepEqual(vxlanHostIfs(sw), ['tabcdefx6a']);
  assert.equal(vxlanNodeLine(sw, 'a'), undefined);
});

test('veth and switch ports are created directly in the namespaces, host ends labelled', () => {
  const h = (n: string, ref: string) => ({ node: n, runtime: 'docker' as const, nsRef: ref, netnsPath: `/proc/${ref}/ns/net` });
  assert.deepEqual(vethLines({ type: 'veth', name: 'r1:eth1--r2:eth1', a: { node: 'r1', iface: 'eth1' }, b: { node: 'r2', iface: 'eth3' } }, h('r1', '101'), h('r2', '202')),
    ['link add eth1 netns 101 type veth peer name eth3 netns 202']);
  const l: SwitchLink = { type: 'switch', name: 'c:eth1--lan', node: { node: 'c', iface: 'eth1' }, switch: 'lan', port: 'c-eth1', hostIf: 'tabcdefp0', vlan: { vlan: 10 } };
  assert.deepEqual(switchPortLines(l, h('c', '7'), { lab: 'x', run: 'r' }, 1450), [
    'link add eth1 netns 7 type veth peer name tabcdefp0',
    'link set dev tabcdefp0 alias "tsunagari lab=x run=r what=link:c:eth1--lan"',
    'link set dev tabcdefp0 mtu 1450',
    'link set dev tabcdefp0 up',
  ]);
  assert.deepEqual(switchPortSpec({ ...l, vlan: undefined }, { name: 'lan', bridge: 'tabcdefb0', ports: { 'c-eth1': { trunk: [10, 20] } } }),
    { bridge: 'tabcdefb0', port: 'tabcdefp0', name: 'c:eth1--lan', vlan: { trunk: [10, 20] } });
});

test('tx checksum offload goes off on switch-attached interfaces unless the topology keeps it on', async () => {
  const { offloadOffInterfaces } = await import('../../../src/fabric/node-config.js');
  const n: Node = { ...node, interfaces: [
    { name: 'eth1', addresses: [] }, { name: 'eth2', addresses: [], txChecksumOffload: true },
    { name: 'eth3', addresses: [], txChecksumOffload: false }, { name: 'eth4', addresses: [] },
  ] };
  assert.deepEqual(offloadOffInterfaces(n, new Set(['eth1', 'eth2'])), ['eth1', 'eth3']);
});
