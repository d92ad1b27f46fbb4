// Good topologies resolve to exactly the expected Lab: defaults, host-side names, VXLAN sides, file
// sources, canonical addresses, file order. Plus the kind registry and the address helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError, UserErrors } from '../../../src/util/errors.js';
import { loadTopology, parseTopology } from '../../../src/topology/load.js';
import { KINDS, getKind } from '../../../src/topology/kinds.js';
import { parseCidr, parseIp, formatIp, cidrProblem } from '../../../src/topology/address.js';
import { bridgeName, labId, portName, underlayNs, vxlanPortName } from '../../../src/topology/naming.js';
import type { Lab } from '../../../src/topology/types.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const goodDir = path.join(root, 'test/fixtures/good-topologies');

const FULL = `
name: full
description: everything at once
runtime: netns
nodes:
  h1:
    kind: host
    interfaces:
      eth1:
        ipv4: [10.0.1.10/24, 10.0.1.11/24]
        ipv6: 2001:DB8:1:0::10/64
        mtu: 1400
        mac: 02:00:00:00:01:0A
        tx_checksum_offload: false
      lo: { ipv4: 192.0.2.1/32 }
    gateway: 10.0.1.1
    gateway6: 2001:db8:1::1
    routes:
      - { to: 10.9.0.0/16, dev: eth1 }
      - { to: 2001:db8:2::/64, via: 2001:db8:1::2 }
    env: { TZ: Asia/Tokyo, DEBUG: 1 }
    exec: [ip -br addr]
  r1:
    kind: router
    runtime: docker
    interfaces:
      eth1: { ipv4: 10.0.1.1/24, ipv6: 2001:db8:1::1/64 }
      eth2: { ipv4: 10.0.2.1/24 }
      eth3: { ipv4: 203.0.113.1/30 }
      vx77: { ipv4: 10.77.0.1/24, mtu: 1450 }
    sysctls:
      net.ipv4.ip_forward: 0
      net.ipv4.conf.all.rp_filter: 2
    files:
      - { src: motd.txt, dst: /etc/motd }
      - { src: files/resolv.conf, dst: /etc/resolv.conf, mode: mount }
  r2:
    kind: linux
    runtime: docker
    image: example/frr:10
    interfaces:
      eth3: { ipv4: 203.0.113.2/30 }
      vx77: { ipv4: 10.77.0.2/24, mtu: 1450 }
  h2:
    kind: host
    interfaces:
      eth1:
      "10": { ipv4: 10.0.2.10/24 }
  h3:
    kind: host
    interfaces:
      eth1:
switches:
  lan1:
    ports:
      h1-eth1: { vlan: 30 }
  lan2:
    ports:
      trunk1: { trunk: [10, 20] }
      a1: { vlan: 10 }
  dc: {}
links:
  - endpoints: [h1:eth1, lan1]
  - endpoints: [lan1, r1:eth1]
  - name: r1-lan2
    endpoints: [r1:eth2, lan2:trunk1]
  - endpoints: [h2:10, lan2]
    vlan: 20
  - endpoints: [h2:eth1, lan2:a1]
  - endpoints: [r1:eth3, r2:eth3]
  - name: wan
    type: vxlan
    endpoints: [lan1, dc]
    vni: 100
    underlay: 169.254.77.0/30
  - type: vxlan
    endpoints: [dc]
    remote: 198.51.100.20
    local: 198.51.100.10
    vni: 200
    dstport: 8472
    udp_checksum: true
  - type: vxlan
    endpoints: [r1:vx77, r2:vx77]
    underlay: [r1:eth3, r2:eth3]
    vni: 77
  - endpoints: [h3:eth1, lan1:h1-eth1]
`;

test('a topology using every feature resolves to exactly the expected Lab', () => {
  const lab = parseTopology(FULL, 'test/fixtures/good-topologies/full.yaml', goodDir);
  const id = labId('full');
  const hostCaps = ['NET_ADMIN', 'NET_RAW'];
  const netns = (n: string) => ({ container: `tsunagari-full.${n}`, netns: `tsunagari-full.${n}` });
  const expected: Lab = {
    name: 'full',
    id,
    file: path.resolve('test/fixtures/good-topologies/full.yaml'),
    dir: goodDir,
    description: 'everything at once',
    nodes: [
      {
        name: 'h1', kind: 'host', runtime: 'netns', ...netns('h1'),
        interfaces: [
          {
            name: 'eth1', addresses: ['10.0.1.10/24', '10.0.1.11/24', '2001:db8:1::10/64'], mtu: 1400,
            mac: '02:00:00:00:01:0a', link: 'h1:eth1--lan1', txChecksumOffload: false,
          },
          { name: 'lo', addresses: ['192.0.2.1/32'] },
        ],
        routes: [
          { to: 'default', via: '10.0.1.1', family: 4 },
          { to: 'default', via: '2001:db8:1::1', family: 6 },
          { to: '10.9.0.0/16', dev: 'eth1', family: 4 },
          { to: '2001:db8:2::/64', via: '2001:db8:1::2', family: 6 },
        ],
        sysctls: {}, files: [], exec: ['ip -br addr'], env: { TZ: 'Asia/Tokyo', DEBUG: '1' }, capabilities: hostCaps,
      },
      {
        name: 'r1', kind: 'router', runtime: 'docker', image: 'tsunagari/debian:latest', ...netns('r1'),
        interfaces: [
          { name: 'eth1', addresses: ['10.0.1.1/24', '2001:db8:1::1/64'], link: 'lan1--r1:eth1' },
          { name: 'eth2', addresses: ['10.0.2.1/24'], link: 'r1-lan2' },
          { name: 'eth3', addresses: ['203.0.113.1/30'], link: 'r1:eth3--r2:eth3' },
          { name: 'vx77', addresses: ['10.77.0.1/24'], mtu: 1450, link: 'r1:vx77--r2:vx77' },
        ],
        routes: [],
        sysctls: { 'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.forwarding': '1', 'net.ipv4.conf.all.rp_filter': '2' },
        files: [
          { src: path.join(goodDir, 'motd.txt'), dst: '/etc/motd', mode: 'copy' },
          { src: path.join(root, 'test/fixtures/files/resolv.conf'), dst: '/etc/resolv.conf', mode: 'mount' },
        ],
        exec: [], env: {}, capabilities: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
      },
      {
        name: 'r2', kind: 'linux', runtime: 'docker', image: 'example/frr:10', ...netns('r2'),
        interfaces: [
          { name: 'eth3', addresses: ['203.0.113.2/30'], link: 'r1:eth3--r2:eth3' },
          { name: 'vx77', addresses: ['10.77.0.2/24'], mtu: 1450, link: 'r1:vx77--r2:vx77' },
        ],
        routes: [], sysctls: {}, files: [], exec: [], env: {}, capabilities: hostCaps,
      },
      {
        name: 'h2', kind: 'host', runtime: 'netns', ...netns('h2'),
        interfaces: [
          { name: 'eth1', addresses: [], link: 'h2:eth1--lan2:a1' },
          { name: '10', addresses: ['10.0.2.10/24'], link: 'h2:10--lan2' },
        ],
        routes: [], sysctls: {}, files: [], exec: [], env: {}, capabilities: hostCaps,
      },
      {
        name: 'h3', kind: 'host', runtime: 'netns', ...netns('h3'),
        interfaces: [{ name: 'eth1', addresses: [], link: 'h3:eth1--lan1:h1-eth1' }],
        routes: [], sysctls: {}, files: [], exec: [], env: {}, capabilities: hostCaps,
      },
    ],
    switches: [
      { name: 'lan1', bridge: bridgeName(id, 0), ports: { 'h1-eth1': { vlan: 30 } } },
      { name: 'lan2', bridge: bridgeName(id, 1), ports: { trunk1: { trunk: [10, 20] }, a1: { vlan: 10 } } },
      { name: 'dc', bridge: bridgeName(id, 2), ports: {} },
    ],
    links: [
      // the declared port h1-eth1 belongs to h3's link, so h1's defaulted port name gets a suffix
      { type: 'switch', name: 'h1:eth1--lan1', node: { node: 'h1', iface: 'eth1' }, switch: 'lan1', port: 'h1-eth1-2', hostIf: portName(id, 0) },
      { type: 'switch', name: 'lan1--r1:eth1', node: { node: 'r1', iface: 'eth1' }, switch: 'lan1', port: 'r1-eth1', hostIf: portName(id, 1) },
      { type: 'switch', name: 'r1-lan2', node: { node: 'r1', iface: 'eth2' }, switch: 'lan2', port: 'trunk1', hostIf: portName(id, 2), vlan: { trunk: [10, 20] } },
      { type: 'switch', name: 'h2:10--lan2', node: { node: 'h2', iface: '10' }, switch: 'lan2', port: 'h2-10', hostIf: portName(id, 3), vlan: { vlan: 20 } },
      { type: 'switch', name: 'h2:eth1--lan2:a1', node: { node: 'h2', iface: 'eth1' }, switch: 'lan2', port: 'a1', hostIf: portName(id, 4), vlan: { vlan: 10 } },
      { type: 'veth', name: 'r1:eth3--r2:eth3', a: { node: 'r1', iface: 'eth3' }, b: { node: 'r2', iface: 'eth3' } },
      {
        type: 'vxlan', name: 'wan', vni: 100, dstport: 4789, udpChecksum: false,
        a: { kind: 'switch', switch: 'lan1', hostIf: vxlanPortName(id, 6, 'a'), local: '169.254.77.1', underlayNs: underlayNs('full', 6, 'a') },
        b: { kind: 'switch', switch: 'dc', hostIf: vxlanPortName(id, 6, 'b'), local: '169.254.77.2', underlayNs: underlayNs('full', 6, 'b') },
        underlay: { veth: ['u6a', 'u6b'], prefix: 30 },
      },
      {
        type: 'vxlan', name: 'dc--198.51.100.20', vni: 200, dstport: 8472, udpChecksum: true,
        a: { kind: 'switch', switch: 'dc', hostIf: vxlanPortName(id, 7, 'a'), local: '198.51.100.10' },
        b: { kind: 'remote', address: '198.51.100.20' },
      },
      {
        type: 'vxlan', name: 'r1:vx77--r2:vx77', vni: 77, dstport: 4789, udpChecksum: false,
        a: { kind: 'node', node: 'r1', iface: 'vx77', local: '203.0.113.1' },
        b: { kind: 'node', node: 'r2', iface: 'vx77', local: '203.0.113.2' },
      },
      { type: 'switch', name: 'h3:eth1--lan1:h1-eth1', node: { node: 'h3', iface: 'eth1' }, switch: 'lan1', port: 'h1-eth1', hostIf: portName(id, 9), vlan: { vlan: 30 } },
    ],
  };
  assert.deepStrictEqual(lab, expected);
});

test('the smallest lab: defaults for runtime, image, sysctls, ports', () => {
  const lab = parseTopology('name: tiny\nnodes:\n  a:\n    kind: router\n', 'tiny.yaml', goodDir);
  assert.deepStrictEqual(lab, {
    name: 'tiny', id: labId('tiny'), file: path.resolve('tiny.yaml'), dir: goodDir,
    nodes: [{
      name: 'a', kind: 'router', runtime: 'docker', image: 'tsunagari/debian:latest',
      container: 'tsunagari-tiny.a', netns: 'tsunagari-tiny.a', interfaces: [], routes: [],
      sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' },
      files: [], exec: [], env: {}, capabilities: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
    }],
    switches: [],
    links: [],
  });
});

test('YAML anchors and merge keys work, and errors inside merged maps still get a position', () => {
  const text = [
    'name: merge',
    'nodes:',
    '  a: &base',
    '    kind: host',
    '    runtime: docker',
    '    interfaces: { eth1: { ipv4: 10.0.0.1/30 } }',
    '  b:',
    '    <<: *base',
    '    interfaces: { eth1: { ipv4: 10.0.0.2/30 } }',
    'links:',
    '  - endpoints: [a:eth1, b:eth1]',
  ].join('\n');
  const lab = parseTopology(text, 'merge.yaml', goodDir);
  assert.deepStrictEqual(lab.nodes.map((n) => [n.name, n.runtime, n.interfaces[0]?.addresses]), [
    ['a', 'docker', ['10.0.0.1/30']],
    ['b', 'docker', ['10.0.0.2/30']],
  ]);
  const bad = text.replace('runtime: docker', 'runtime: lxc');
  assert.throws(() => parseTopology(bad, 'merge.yaml', goodDir), (e: unknown) => {
    assert.ok(e instanceof UserErrors);
    assert.deepEqual(e.errors, [
      "merge.yaml:5:14: node a: unknown runtime 'lxc'; known: docker, netns",
      "merge.yaml:5:14: node b: unknown runtime 'lxc'; known: docker, netns",
    ]);
    return true;
  });
});

test('all problems are reported at once, sorted by position, and no Lab is returned', () => {
  const text = [
    'name: many',
    'nodes:',
    '  a:',
    '    kind: host',
    '    interfaces:',
    '      eth1: { ipv4: 10.0.0.0/24 }',
    '    gateway: 10.9.9.9',
    'links:',
    '  - endpoints: [a:eth1, nowhere]',
  ].join('\n');
  assert.throws(() => parseTopology(text, 'many.yaml', goodDir), (e: unknown) => {
    assert.ok(e instanceof UserErrors);
    assert.deepEqual(e.errors, [
      'many.yaml:6:21: node a, interface eth1: address 10.0.0.0/24 is the network address of its subnet; hint: use a host address such as 10.0.0.1/24',
      'many.yaml:7:14: node a: gateway 10.9.9.9 is not inside any subnet of this node (eth1: 10.0.0.0/24)',
      "many.yaml:9:25: link a:eth1--nowhere: endpoint nowhere: no node or switch named 'nowhere'; known nodes: a; known switches: (none)",
    ]);
    return true;
  });
});

test('a missing topology file is a UserError naming the file', async () => {
  await assert.rejects(loadTopology('topologies/no-such-lab.yaml'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'cannot read topology topologies/no-such-lab.yaml (no such file); hint: topologies live in topologies/<name>.yaml');
    return true;
  });
});

test('kind registry: the eight kinds, their defaults, and a listing error for unknown kinds', () => {
  assert.deepEqual(Object.keys(KINDS), ['host', 'router', 'dns', 'linux', 'resolver', 'authoritative', 'responder', 'frr']);
  assert.deepEqual(getKind('host').runtimes, ['docker', 'netns']);
  assert.equal(getKind('host').image, 'tsunagari/host:latest');
  assert.deepEqual(getKind('router').capabilities, ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN']);
  assert.deepEqual(getKind('router').sysctls, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  for (const k of ['router', 'dns', 'linux', 'resolver', 'authoritative', 'frr']) {
    assert.equal(getKind(k).image, 'tsunagari/debian:latest');
    assert.deepEqual(getKind(k).runtimes, ['docker']);
  }
  assert.deepEqual([getKind('responder').runtimes, getKind('responder').runtime], [['netns'], 'netns']);
  // the DNS server kinds and frr start a service; the others are unchanged; only frr is managed
  assert.deepEqual(Object.values(KINDS).filter((k) => k.service).map((k) => [k.name, k.service!.server]),
    [['resolver', 'unbound'], ['authoritative', 'nsd'], ['responder', 'responder'], ['frr', 'frr']]);
  assert.deepEqual(Object.values(KINDS).filter((k) => k.managed).map((k) => k.name), ['frr']);
  for (const k of Object.values(KINDS)) assert.ok(k.description.length > 0 && !k.description.includes('\n'));
  assert.throws(() => getKind('switch'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, "unknown kind 'switch'; known: host, router, dns, linux, resolver, authoritative, responder, frr");
    return true;
  });
  assert.throws(() => getKind('toString'), UserError);
});

test('address helpers: strict parsing and canonical forms', () => {
  assert.equal(parseIp('10.0.0.01'), null);
  assert.equal(parseIp('256.0.0.1'), null);
  assert.equal(parseIp('fe80::1%eth0'), null);
  assert.deepEqual(parseCidr('10.1.2.3/24'), { family: 4, value: 0x0a010203n, prefix: 24 });
  assert.equal(parseCidr('10.1.2.3/33'), null);
  assert.equal(parseCidr('10.1.2.3'), null);
  const v6 = parseIp('::ffff:192.0.2.1')!;
  assert.equal(formatIp(6, v6.value), '::ffff:c000:201');
  assert.equal(formatIp(6, parseIp('2001:0DB8:0:0:1:0:0:1')!.value), '2001:db8::1:0:0:1');
  assert.equal(formatIp(6, parseIp('::')!.value), '::');
  assert.equal(cidrProblem('10.0.0.1/24', 4), null);
  assert.equal(cidrProblem('2001:db8::1/64', 6), null);
  assert.equal(cidrProblem('10.0.0.1', 4), "'10.0.0.1' has no prefix length; hint: write it as 10.0.0.1/24");
});

test('a 300-node lab on one switch validates and resolves (names within IFNAMSIZ, addresses all distinct)', () => {
  const lines = ['name: campus', 'runtime: netns', 'nodes:'];
  for (let i = 0; i < 300; i++) lines.push(`  h${i}: { kind: host, interfaces: { eth1: { ipv4: 10.${Math.floor(i / 250)}.${i % 250}.1/16 } } }`);
  lines.push('switches: { core: {} }', 'links:');
  for (let i = 0; i < 300; i++) lines.push(`  - endpoints: [h${i}:eth1, core]`);
  const lab = parseTopology(lines.join('\n') + '\n', 'campus.yaml', '.');
  assert.equal(lab.nodes.length, 300);
  assert.equal(new Set(lab.links.map((l) => (l.type === 'switch' ? l.hostIf : ''))).size, 300);
  assert.ok(lab.links.every((l) => l.type === 'switch' && l.hostIf.length <= 15));
});
