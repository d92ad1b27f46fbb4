// Pure parts of link impairments: which devices each link kind acts on, nft rule text for loss, tbf
// parameters for a rate, and the route lines linkUp restores (the same syntax as nodeConfigLines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../../src/topology/load.js';
import { resolveLink } from '../../../src/lab/targets.js';
import { nodeConfigLines } from '../../../src/fabric/node-config.js';
import {
  downPlaces, egressPlaces, impairTable, lossCondition, lossPlan, netdevLossScript, routeRestoreLines, tbfParams, udpLossScript,
} from '../../../src/lab/impair.js';
import { UserError } from '../../../src/util/errors.js';
import type { Node } from '../../../src/topology/types.js';

const lab = parseTopology(`
name: imp
runtime: netns
nodes:
  client:
    kind: host
    interfaces:
      eth1: { ipv4: 10.31.1.10/24, mtu: 9000 }
      eth2: { ipv4: 10.31.2.1/30, ipv6: "fd00:31:2::1/64" }
    gateway: 10.31.1.1
    routes:
      - { to: 10.31.9.0/24, via: 10.31.2.2 }
      - { to: "fd00:31:9::/64", via: "fd00:31:2::2" }
      - { to: 10.31.8.0/24, dev: eth2 }
      - { to: 10.31.7.0/24, dev: eth1 }
  peer:
    kind: host
    interfaces:
      eth1: { ipv4: 10.31.2.2/30, ipv6: "fd00:31:2::2/64" }
  h1:
    kind: host
    interfaces:
      eth9: { ipv4: 10.40.0.1/24 }
      vx7: { ipv4: 10.77.0.1/24 }
  h2:
    kind: host
    interfaces:
      eth9: { ipv4: 10.40.0.2/24 }
      vx7: { ipv4: 10.77.0.2/24 }
switches:
  lan: {}
  wan: {}
links:
  - endpoints: [client:eth1, lan]
  - name: client-peer
    endpoints: [client:eth2, peer:eth1]
  - endpoints: [h1:eth9, h2:eth9]
  - name: overlay
    type: vxlan
    endpoints: [lan, wan]
    vni: 77
  - type: vxlan
    endpoints: [h1:vx7, h2:vx7]
    underlay: [h1:eth9, h2:eth9]
    vni: 7
  - type: vxlan
    endpoints: [wan]
    remote: "2001:db8::20"
    vni: 78
    dstport: 8472
`, 'imp.yaml', '/tmp');

const link = (t: string) => resolveLink(lab, t);
const labels = (ps: Array<{ label: string }>): string[] => ps.map((p) => p.label);
const sw = link('client:eth1--lan');
const swPort = sw.type === 'switch' ? sw.hostIf : '';

test('link down acts on the switch side when there is one, else on both node ends', () => {
  assert.deepEqual(downPlaces(lab, sw).map((p) => [p.where.kind, p.dev]), [['host', swPort]]);
  assert.deepEqual(labels(downPlaces(lab, link('client-peer'))), ['client:eth2', 'peer:eth1']);
  const ov = link('overlay');
  assert.deepEqual(downPlaces(lab, ov).map((p) => p.where.kind), ['host', 'host']);
  assert.deepEqual(labels(downPlaces(lab, link('h1:vx7'))), ['h1:vx7', 'h2:vx7']);
  assert.deepEqual(downPlaces(lab, link('wan--2001:db8::20')).map((p) => p.where.kind), ['host']);
});

test('rate/delay go on the egress of each direction once', () => {
  assert.deepEqual(egressPlaces(lab, sw).map((p) => [p.where.kind, p.dev, p.mtu]), [['node', 'eth1', 9000], ['host', swPort, 9000]]);
  assert.deepEqual(labels(egressPlaces(lab, link('client-peer'))), ['client:eth2', 'peer:eth1']);
  const ov = egressPlaces(lab, link('overlay'));
  assert.deepEqual(ov.map((p) => [p.where.kind, p.dev]), [['netns', 'u3a'], ['netns', 'u3b']]);
  assert.deepEqual(ov.map((p) => (p.where.kind === 'netns' ? p.where.name : '')), ['tsunagari-imp._vx3a', 'tsunagari-imp._vx3b']);
});

test('loss conditions: integer percent mod 100, fractions mod 10000, 100 % drops all, nonsense refused', () => {
  assert.equal(lossCondition(30), 'numgen random mod 100 < 30 ');
  assert.equal(lossCondition(0.5), 'numgen random mod 10000 < 50 ');
  assert.equal(lossCondition(100), '');
  for (const bad of [0, -1, 100.5, Number.NaN]) assert.throws(() => lossCondition(bad), (e: unknown) => e instanceof UserError && /must be more than 0 and at most 100/.test(e.message));
  assert.throws(() => lossCondition(0.001), /the finest step is 0\.01%/);
});

test('nft loss tables: replaced atomically, ingress drop, egress marks the frame lost', () => {
  assert.equal(impairTable('eth1'), 'tsunagari_impair_eth1');
  assert.equal(impairTable('ge-0.1'), 'tsunagari_impair_ge_0_1');
  assert.equal(netdevLossScript('tsunagari_impair_eth1', 'eth1', 30, { egress: false }), [
    'table netdev tsunagari_impair_eth1 {}',
    'delete table netdev tsunagari_impair_eth1',
    'table netdev tsunagari_impair_eth1 {',
    '  chain ingress { type filter hook ingress device "eth1" priority -100; policy accept; numgen random mod 100 < 30 drop; }',
    '}',
    ''].join('\n'));
  assert.match(netdevLossScript('t', 'eth1', 100, { egress: true }),
    /chain ingress \{ [^}]*policy accept; drop; \}\n {2}chain egress \{ type filter hook egress device "eth1" priority -100; policy accept; ether type set 0x88b5; \}/);
  assert.equal(udpLossScript('t', '198.51.100.20', 4789, 10).split('\n')[3],
    '  chain input { type filter hook input priority -100; policy accept; ip saddr 198.51.100.20 udp dport 4789 numgen random mod 100 < 10 drop; }');
  assert.match(udpLossScript('t', '2001:db8::20', 8472, 10), /ip6 daddr 2001:db8::20 udp dport 8472 numgen random mod 100 < 10 drop/);
});

test('loss plan per link kind', () => {
  const plan = (t: string) => lossPlan(lab, link(t), 25).map((p) => `${p.label} ${p.family} ${p.table} ${p.script.includes('hook egress') ? 'egress' : ''}`.trim());
  assert.deepEqual(plan('client:eth1--lan'), ['client:eth1 netdev tsunagari_impair_eth1 egress']);
  assert.deepEqual(plan('client-peer'), ['client:eth2 netdev tsunagari_impair_eth2', 'peer:eth1 netdev tsunagari_impair_eth1']);
  assert.deepEqual(plan('h1:vx7'), ['h1:vx7 netdev tsunagari_impair_vx7', 'h2:vx7 netdev tsunagari_impair_vx7']);
  assert.deepEqual(plan('overlay'), ['underlay u3a of overlay netdev tsunagari_impair_u3a', 'underlay u3b of overlay netdev tsunagari_impair_u3b']);
  const remote = lossPlan(lab, link('wan--2001:db8::20'), 25)[0];
  assert.equal(remote?.family, 'inet');
  assert.match(remote?.script ?? '', /ip6 saddr 2001:db8::20 udp dport 8472/);
});

test('tbf: burst of 10 ms but at least two frames, queue of 50 ms but at least four frames', () => {
  assert.deepEqual(tbfParams(1e6), { rate: '1000000bit', burstBytes: 3028, latencyMs: 50, args: ['tbf', 'rate', '1000000bit', 'burst', '3028', 'latency', '50ms'] });
  assert.deepEqual([tbfParams(1e9).burstBytes, tbfParams(1e9).latencyMs], [1250000, 50]);
  assert.deepEqual([tbfParams(64000).burstBytes, tbfParams(64000).latencyMs], [3028, 757]);
  assert.deepEqual([tbfParams(1e6, 9000).burstBytes, tbfParams(1e6, 9000).latencyMs], [18028, 289]);
  assert.equal(tbfParams(8000).latencyMs, 6056);
  for (const bad of [0, 7999, 1e12, Number.NaN]) assert.throws(() => tbfParams(bad), /cannot set rate .* \(must be 8 kbit\/s \.\. 100 Gbit\/s\)/);
});

test('linkUp restores the static routes through the interface, in nodeConfigLines\' syntax', () => {
  const client = lab.nodes.find((n) => n.name === 'client') as Node;
  assert.deepEqual(routeRestoreLines(client, 'eth2'), [
    'route replace 10.31.9.0/24 via 10.31.2.2',
    'route replace fd00:31:9::/64 via fd00:31:2::2',
    'route replace 10.31.8.0/24 dev eth2',
  ]);
  assert.deepEqual(routeRestoreLines(client, 'eth1'), ['route replace 0.0.0.0/0 via 10.31.1.1', 'route replace 10.31.7.0/24 dev eth1']);
  const added = nodeConfigLines(client).filter((l) => l.startsWith('route add '));
  for (const l of [...routeRestoreLines(client, 'eth1'), ...routeRestoreLines(client, 'eth2')]) {
    assert.ok(added.includes(l.replace('route replace ', 'route add ')), `${l} matches a nodeConfigLines route`);
  }
  assert.deepEqual(routeRestoreLines(lab.nodes.find((n) => n.name === 'peer') as Node, 'eth1'), []);
});
