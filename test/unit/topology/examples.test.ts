// The example labs in topologies/ load cleanly and say what their comments say; the committed JSON
// Schema is the one the zod schema generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTopology } from '../../../src/topology/load.js';
import { applyProfile, inventoryJsonSchemaText, looksLikeInventory, topologyWithProfilesJsonSchemaText as topologyJsonSchemaText } from '../../../src/topology/inventory.js';
import { labId, portName, underlayNs, vxlanPortName } from '../../../src/topology/naming.js';
import type { Lab, Node } from '../../../src/topology/types.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
process.chdir(root);

const node = (lab: Lab, name: string): Node => {
  const n = lab.nodes.find((x) => x.name === name);
  assert.ok(n, `node ${name} missing`);
  return n;
};

test('schema/topology.schema.json is up to date (run `npm run schema`)', () => {
  assert.equal(readFileSync('schema/topology.schema.json', 'utf8'), topologyJsonSchemaText());
});

test('schema/inventory.schema.json is up to date (run `npm run schema`)', () => {
  assert.equal(readFileSync('schema/inventory.schema.json', 'utf8'), inventoryJsonSchemaText());
});

const examples = readdirSync('topologies').filter((f) => f.endsWith('.yaml') && !looksLikeInventory(f)).sort();
const inventories = readdirSync('topologies').filter((f) => f.endsWith('.yaml') && looksLikeInventory(f)).sort();

test('the lab profile of dual-path exists', () => {
  assert.ok(inventories.includes('dual-path.lab.yaml'));
});

for (const f of inventories) {
  test(`topologies/${f} applies cleanly to its topology and points editors at the inventory schema`, async () => {
    const text = readFileSync(`topologies/${f}`, 'utf8');
    assert.equal(text.split('\n')[0], '# yaml-language-server: $schema=../schema/inventory.schema.json');
    const [base, profile] = f.split('.') as [string, string];
    const lab = applyProfile(await loadTopology(`topologies/${base}.yaml`), profile, existsSync);
    assert.equal(lab.profile?.name, profile);
  });
}

test('the three example labs exist', () => {
  for (const f of ['dual-path.yaml', 'home-nat.yaml', 'two-sites.yaml']) assert.ok(examples.includes(f), f);
});

for (const f of examples) {
  test(`topologies/${f} loads cleanly and points editors at the schema`, async () => {
    const text = readFileSync(`topologies/${f}`, 'utf8');
    assert.equal(text.split('\n')[0], '# yaml-language-server: $schema=../schema/topology.schema.json');
    const lab = await loadTopology(`topologies/${f}`);
    assert.equal(`${lab.name}.yaml`, f, 'lab name matches the file name');
  });
}

test('two-sites: two switches joined by VXLAN 77, overlay-facing MTU 1450', async () => {
  const lab = await loadTopology('topologies/two-sites.yaml');
  const id = labId('two-sites');
  assert.deepEqual(lab.nodes.map((n) => [n.name, n.kind, n.runtime, n.interfaces]), [
    ['client', 'host', 'netns', [{ name: 'eth1', addresses: ['10.77.0.10/24'], mtu: 1450, link: 'client:eth1--sw-a' }]],
    ['a2', 'host', 'docker', [{ name: 'eth1', addresses: ['10.77.0.11/24'], mtu: 1450, link: 'a2:eth1--sw-a' }]],
    ['server', 'host', 'docker', [{ name: 'eth1', addresses: ['10.77.0.20/24'], mtu: 1450, link: 'server:eth1--sw-b' }]],
    ['b2', 'host', 'docker', [{ name: 'eth1', addresses: ['10.77.0.21/24'], mtu: 1450, link: 'b2:eth1--sw-b' }]],
  ]);
  assert.deepEqual(lab.switches.map((s) => s.name), ['sw-a', 'sw-b']);
  assert.deepEqual(lab.links[4], {
    type: 'vxlan', name: 'overlay', vni: 77, dstport: 4789, udpChecksum: false,
    a: { kind: 'switch', switch: 'sw-a', hostIf: vxlanPortName(id, 4, 'a'), local: '169.254.4.1', underlayNs: underlayNs('two-sites', 4, 'a') },
    b: { kind: 'switch', switch: 'sw-b', hostIf: vxlanPortName(id, 4, 'b'), local: '169.254.4.2', underlayNs: underlayNs('two-sites', 4, 'b') },
    underlay: { veth: ['u4a', 'u4b'], prefix: 30 },
  });
});

test('home-nat: nat masquerades towards upstream, which has no route back', async () => {
  const lab = await loadTopology('topologies/home-nat.yaml');
  const nat = node(lab, 'nat');
  assert.equal(nat.kind, 'router');
  assert.deepEqual(nat.interfaces.map((i) => [i.name, i.addresses]), [['eth1', ['192.168.1.1/24']], ['eth2', ['203.0.113.2/30']]]);
  assert.deepEqual(nat.routes, [{ to: 'default', via: '203.0.113.1', family: 4 }]);
  assert.deepEqual(nat.exec, [
    'nft add table ip nat',
    "nft 'add chain ip nat post { type nat hook postrouting priority 100; }'",
    'nft add rule ip nat post oifname eth2 masquerade',
  ]);
  assert.deepEqual(nat.sysctls, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  assert.deepEqual(node(lab, 'upstream').routes, []);
  assert.deepEqual(node(lab, 'client').routes, [{ to: 'default', via: '192.168.1.1', family: 4 }]);
  assert.deepEqual(node(lab, 'dns').routes, [{ to: 'default', via: '198.51.100.1', family: 4 }]);
  // the server network: an unbound resolver, an nsd authoritative server and tsunagari's responder
  assert.deepEqual(['dns', 'auth', 'edge'].map((n) => [n, node(lab, n).kind, node(lab, n).runtime]),
    [['dns', 'resolver', 'docker'], ['auth', 'authoritative', 'docker'], ['edge', 'responder', 'netns']]);
  assert.deepEqual(node(lab, 'edge').interfaces.map((i) => [i.name, i.addresses]), [['eth1', ['198.51.100.55/24']], ['lo', ['198.51.100.56/32']]]);
  assert.deepEqual(lab.links.map((l) => [l.type, l.name]), [
    ['switch', 'client:eth1--lan'], ['switch', 'nat:eth1--lan'], ['veth', 'nat:eth2--upstream:eth1'], ['switch', 'upstream:eth2--dmz'],
    ['switch', 'dns:eth1--dmz'], ['switch', 'auth:eth1--dmz'], ['switch', 'edge:eth1--dmz'],
  ]);
  assert.deepEqual(lab.links[1], {
    type: 'switch', name: 'nat:eth1--lan', node: { node: 'nat', iface: 'eth1' }, switch: 'lan', port: 'nat-eth1',
    hostIf: portName(labId('home-nat'), 1),
  });
});

test('dual-path: two FRR routers, a primary and a backup path, hosts behind each', async () => {
  const lab = await loadTopology('topologies/dual-path.yaml');
  assert.deepEqual(node(lab, 'h1').routes, [{ to: 'default', via: '10.1.0.1', family: 4 }]);
  assert.deepEqual(node(lab, 'h2').routes, [{ to: 'default', via: '10.2.0.1', family: 4 }]);
  for (const r of ['r1', 'r2']) {
    assert.equal(node(lab, r).kind, 'frr');
    assert.deepEqual(node(lab, r).interfaces.filter((i) => i.link).map((i) => i.link), [`${r}:eth1--lan${r.slice(1)}`, 'primary', 'backup']);
    assert.deepEqual(node(lab, r).files.map((f) => [f.dst, f.src.endsWith(`fixtures/frr/dual-path/${r}.conf`)]), [['/etc/frr/frr.conf', true]]);
  }
  assert.deepEqual(lab.links.filter((l) => l.type === 'veth').map((l) => l.name), ['primary', 'backup']);
});
