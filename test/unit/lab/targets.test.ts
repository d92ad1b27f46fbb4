// Names users write in scenarios → targets and links of a resolved lab, with the exact error messages
// (unknown host/interface/link lists the known names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../../src/topology/load.js';
import { resolveLink, resolveTarget, linkEndTexts } from '../../../src/lab/targets.js';
import { UserError } from '../../../src/util/errors.js';

const lab = parseTopology(`
name: tgt
runtime: netns
nodes:
  client:
    kind: host
    interfaces:
      eth1: { ipv4: 10.31.1.10/24, ipv6: "fd00:31:1::10/64" }
      eth2: { ipv6: "fd00:31:2::1/64" }
  server:
    kind: host
    interfaces:
      eth1: { ipv6: ["FD00:31:1::20/64"], ipv4: [10.31.1.20/24, 10.31.1.21/24] }
  v6only:
    kind: host
    interfaces:
      eth1: { ipv6: "fd00:31:2::2/64" }
  bare:
    kind: host
    interfaces:
      eth1: {}
      lo: { ipv4: 192.0.2.1/32 }
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
  far: {}
links:
  - endpoints: [client:eth1, lan]
  - endpoints: [server:eth1, lan]
  - name: client-v6
    endpoints: [client:eth2, v6only:eth1]
  - endpoints: [bare:eth1, wan]
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
    endpoints: [far]
    remote: 198.51.100.20
    vni: 78
`, 'tgt.yaml', '/tmp');

const userError = (re: RegExp) => (e: unknown): boolean => e instanceof UserError && re.test(e.message);

test('addresses are taken as they are', () => {
  assert.deepEqual(resolveTarget(lab, '10.9.9.9'), { address: '10.9.9.9', family: 4, label: '10.9.9.9' });
  assert.deepEqual(resolveTarget(lab, 'fd00::1'), { address: 'fd00::1', family: 6, label: 'fd00::1' });
});

test('a node is its first IPv4 on a non-lo interface, else its first IPv6', () => {
  assert.deepEqual(resolveTarget(lab, 'client'), { address: '10.31.1.10', family: 4, label: 'client (10.31.1.10)' });
  assert.deepEqual(resolveTarget(lab, 'server'), { address: '10.31.1.20', family: 4, label: 'server (10.31.1.20)' });
  assert.deepEqual(resolveTarget(lab, 'v6only'), { address: 'fd00:31:2::2', family: 6, label: 'v6only (fd00:31:2::2)' });
  assert.deepEqual(resolveTarget(lab, 'client', 6), { address: 'fd00:31:1::10', family: 6, label: 'client (fd00:31:1::10)' });
});

test('node:iface is that interface\'s first IPv4, else IPv6', () => {
  assert.deepEqual(resolveTarget(lab, 'client:eth2'), { address: 'fd00:31:2::1', family: 6, label: 'client:eth2 (fd00:31:2::1)' });
  assert.deepEqual(resolveTarget(lab, 'server:eth1', 6), { address: 'fd00:31:1::20', family: 6, label: 'server:eth1 (fd00:31:1::20)' });
  assert.deepEqual(resolveTarget(lab, 'bare:lo'), { address: '192.0.2.1', family: 4, label: 'bare:lo (192.0.2.1)' });
});

test('unknown hosts and interfaces list the known ones', () => {
  assert.throws(() => resolveTarget(lab, 'sever'), userError(/^unknown host sever; known: client, server, v6only, bare, h1, h2$/));
  assert.throws(() => resolveTarget(lab, 'lan'), userError(/^unknown host lan; known: client, server/));
  assert.throws(() => resolveTarget(lab, 'client:eth3'), userError(/^node client has no interface eth3; known: eth1, eth2$/));
  assert.throws(() => resolveTarget(lab, '10.0.0.300'), userError(/^unknown host 10\.0\.0\.300; known: /));
});

test('a node or interface without (such) addresses is a clear error', () => {
  assert.throws(() => resolveTarget(lab, 'bare'), userError(/^node bare has no address on its interfaces; hint: name its loopback explicitly: bare:lo$/));
  assert.throws(() => resolveTarget(lab, 'bare:eth1'), userError(/^node bare has no address on interface eth1; hint: /));
  assert.throws(() => resolveTarget(lab, 'v6only', 4), userError(/^node v6only has no IPv4 address on its interfaces; hint: /));
  assert.throws(() => resolveTarget(lab, '10.0.0.1', 6), userError(/^cannot use 10\.0\.0\.1 as an IPv6 target \(it is an IPv4 address\)$/));
});

test('links: by name, by both ends in either order, by one node interface, by switch:port', () => {
  assert.equal(resolveLink(lab, 'client-v6').name, 'client-v6');
  assert.equal(resolveLink(lab, 'client:eth1--lan').name, 'client:eth1--lan');
  assert.equal(resolveLink(lab, 'lan--client:eth1').name, 'client:eth1--lan');
  assert.equal(resolveLink(lab, 'lan:client-eth1--client:eth1').name, 'client:eth1--lan');
  assert.equal(resolveLink(lab, 'v6only:eth1--client:eth2').name, 'client-v6');
  assert.equal(resolveLink(lab, 'client:eth2').name, 'client-v6');
  assert.equal(resolveLink(lab, 'server:eth1').name, 'server:eth1--lan');
  assert.equal(resolveLink(lab, 'h2:eth9--h1:eth9').name, 'h1:eth9--h2:eth9');
  assert.equal(resolveLink(lab, 'wan--lan').name, 'overlay');
  assert.equal(resolveLink(lab, 'h1:vx7').name, 'h1:vx7--h2:vx7');
  assert.equal(resolveLink(lab, '198.51.100.20--far').name, 'far--198.51.100.20');
  assert.deepEqual(linkEndTexts(resolveLink(lab, 'overlay')), ['lan', 'wan']);
});

test('unknown links list the link names; unknown interfaces say so', () => {
  const known = 'client:eth1--lan, server:eth1--lan, client-v6, bare:eth1--wan, h1:eth9--h2:eth9, overlay, h1:vx7--h2:vx7, far--198.51.100.20';
  assert.throws(() => resolveLink(lab, 'client:eth1--wan'), userError(new RegExp(`^unknown link client:eth1--wan; known: ${known.replace(/\./g, '\\.')}$`)));
  assert.throws(() => resolveLink(lab, 'uplink'), userError(/^unknown link uplink; known: client:eth1--lan, /));
  assert.throws(() => resolveLink(lab, 'client:eth7'), userError(/^node client has no interface eth7; known: eth1, eth2$/));
  assert.throws(() => resolveLink(lab, 'a--b--c'), userError(/^unknown link a--b--c; known: /));
});
