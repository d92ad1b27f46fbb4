// Pure parts of the silent cut and the timed outage: where the drop goes per link kind, the nft script of
// a silent drop, the nft -i lines of a timed outage (each rule bounded by `meta time`), and the
// injector program refusing bad requests before it touches nft.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../../src/topology/load.js';
import { resolveLink } from '../../../src/lab/targets.js';
import { cutScript, cutTable, injectLines, injectPlan, silentDropPlan, INJECT_PATH } from '../../../src/lab/outage-inject.js';
import { run } from '../../../src/util/exec.js';

const lab = parseTopology(`
name: cut
runtime: netns
nodes:
  client:
    kind: host
    interfaces:
      eth1: { ipv4: 10.44.1.10/24 }
      eth2: { ipv4: 10.44.2.1/30 }
  peer:
    kind: host
    interfaces:
      eth1: { ipv4: 10.44.2.2/30 }
switches:
  lan: {}
  wan: {}
links:
  - endpoints: [client:eth1, lan]
  - name: client-peer
    endpoints: [client:eth2, peer:eth1]
  - name: overlay
    type: vxlan
    endpoints: [lan, wan]
    vni: 77
  - type: vxlan
    endpoints: [wan]
    remote: "2001:db8::20"
    vni: 78
    dstport: 8472
`, 'cut.yaml', '/tmp');
const link = (t: string) => resolveLink(lab, t);

test('silent drop: both node ends of a veth, the node end of a switch link (egress marks frames lost), the underlay of a VXLAN', () => {
  const veth = silentDropPlan(lab, link('client-peer'));
  assert.deepEqual(veth.map((p) => [p.label, p.table, p.chains.map((c) => `${c.name}:${c.action}`).join(',')]), [
    ['client:eth2', 'tsunagari_cut_eth2', 'ingress:drop'], ['peer:eth1', 'tsunagari_cut_eth1', 'ingress:drop'],
  ]);
  const sw = silentDropPlan(lab, link('client:eth1--lan'));
  assert.deepEqual(sw.map((p) => [p.label, p.chains.map((c) => `${c.name}:${c.action}`).join(',')]), [['client:eth1', 'ingress:drop,egress:ether type set 0x88b5']]);
  assert.deepEqual(silentDropPlan(lab, link('overlay')).map((p) => p.where.kind), ['netns', 'netns']);
  const remote = silentDropPlan(lab, link('wan--2001:db8::20'));
  assert.deepEqual(remote.map((p) => [p.family, p.chains.map((c) => c.action)]), [['inet', ['ip6 saddr 2001:db8::20 udp dport 8472 drop', 'ip6 daddr 2001:db8::20 udp dport 8472 drop']]]);
});

test('the silent drop script replaces its own table atomically and drops everything', () => {
  const [p] = silentDropPlan(lab, link('client:eth1--lan'));
  assert.equal(cutScript(p!), [
    'table netdev tsunagari_cut_eth1 {}',
    'delete table netdev tsunagari_cut_eth1',
    'table netdev tsunagari_cut_eth1 {',
    '  chain ingress { type filter hook ingress device "eth1" priority -100; policy accept; drop; }',
    '  chain egress { type filter hook egress device "eth1" priority -100; policy accept; ether type set 0x88b5; }',
    '}',
  ].join('\n') + '\n');
  assert.equal(cutTable('tsunagari_blip', 'tab-c.1'), 'tsunagari_blip_tab_c_1');
});

test('a timed outage is one place cutting both ways: hooks first, then rules added and flushed; the rules stop matching by themselves (meta time)', () => {
  const veth = injectPlan(lab, link('client-peer'));
  assert.equal(veth.label, 'client:eth2');
  assert.deepEqual(veth.chains.map((c) => c.name), ['ingress', 'egress']);
  const lines = injectLines(veth, 1_800_000_000.2);
  assert.deepEqual(lines, {
    ready: 'add table netdev tsunagari_blip_eth2; delete table netdev tsunagari_blip_eth2; add table netdev tsunagari_blip_eth2; ' +
      'add chain netdev tsunagari_blip_eth2 ingress { type filter hook ingress device "eth2" priority -100; policy accept; }; ' +
      'add chain netdev tsunagari_blip_eth2 egress { type filter hook egress device "eth2" priority -100; policy accept; }',
    start: 'add rule netdev tsunagari_blip_eth2 ingress meta time < 1800000001 drop; ' +
      'add rule netdev tsunagari_blip_eth2 egress meta time < 1800000001 ether type set 0x88b5',
    end: 'flush table netdev tsunagari_blip_eth2',
  });
  for (const l of Object.values(lines)) assert.ok(!l.includes('\n'));
  assert.equal(injectPlan(lab, link('wan--2001:db8::20')).family, 'inet');
});

test('the injector program refuses a bad request without running nft', async () => {
  for (const [req, why] of [
    ['nope', /argument|JSON/], [JSON.stringify({ table: 'a b', family: 'netdev', ready: 'x', start: 'x', end: 'x', ms: 5 }), /table a b is not a plain name/],
    [JSON.stringify({ table: 't', family: 'ip', ready: 'x', start: 'x', end: 'x', ms: 5 }), /family ip/],
    [JSON.stringify({ table: 't', family: 'netdev', ready: 'x', start: 'x\ny', end: 'x', ms: 5 }), /start is not one line/],
    [JSON.stringify({ table: 't', family: 'netdev', ready: 'x', start: 'x', end: 'x', ms: 0 }), /ms 0 is not in 1\.\.60000/],
  ] as const) {
    const r = await run(process.execPath, [INJECT_PATH, req], { timeoutMs: 10_000 });
    assert.equal(r.code, 1);
    assert.match(JSON.parse(r.stdout).error, why);
  }
});
