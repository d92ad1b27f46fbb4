// Profile inventories on paper (src/topology/inventory.ts): dual-path with its `lab` inventory (r1/r2
// external, lan1/lan2 stretched by VXLAN), a veth link to a device turned into a switch of its own, NIC
// attachments, every error path of an inventory as `file:line:col: <object>: <message>` at the right
// place, profile selection, `~`/`${VAR}` in paths, the connect options built from DeviceAccess, and probe
// targets naming external devices. Pure: no network, no Docker, no OVS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ed25519KeyPair } from '../../../src/devices/keygen.js';
import { UserError, UserErrors } from '../../../src/util/errors.js';
import { loadTopology, parseTopology } from '../../../src/topology/load.js';
import {
  EMULATED, applyProfile, chosenProfile, expandPath, inventoryCandidates, inventoryErrors, looksLikeInventory, parseInventory,
} from '../../../src/topology/inventory.js';
import {
  bridgeName, isValidIfName, labId, mgmtBridgeName, mgmtGatewayPortName, portName, vxlanPortName,
} from '../../../src/topology/naming.js';
import { hostNames, resolveAnyLink, resolveLink, resolveTarget } from '../../../src/lab/targets.js';
import { deviceLabel, externalDeviceOptions, resolveDeviceOptions, type ResolveEnv } from '../../../src/devices/transport.js';
import { fingerprint, parsePublicKey } from '../../../src/devices/hostkey.js';
import type { Lab, NicLink, SwitchLink, VxlanLink } from '../../../src/topology/types.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
process.chdir(root); // messages name files relative to the repository

const DUAL = await loadTopology('topologies/dual-path.yaml');
const INV = 'topologies/dual-path.lab.yaml';
const hostKey = ed25519KeyPair('r1');
const FP = fingerprint(parsePublicKey(hostKey.public)!.blob);

/** Problems of an inventory text applied to a lab, as shown to the user. */
const errors = (text: string, lab: Lab = DUAL, file = INV): string[] => inventoryErrors(text, file, lab);
/** Appended to dual-path inventories whose subject is elsewhere (lan1/lan2 join local and external members). */
const ATTACH = `attach:
  lan1: { vxlan: { vni: 1001, remote: 198.18.255.2 } }
  lan2: { vxlan: { vni: 1002, remote: 198.18.255.2 } }
`;

/** Every host-side interface name a lab makes (bridges, OVS ports, VXLAN ports, management). */
function hostIfNames(lab: Lab): string[] {
  const out = lab.switches.map((s) => s.bridge);
  for (const l of lab.links) {
    if (l.type === 'switch') out.push(l.hostIf);
    if (l.type === 'vxlan') {
      for (const s of [l.a, l.b]) if (s.kind === 'switch') out.push(s.hostIf);
      if (l.underlay) out.push(...l.underlay.veth);
    }
  }
  if (lab.management) out.push(lab.management.bridge, lab.management.gatewayIf);
  for (const n of lab.nodes) if (n.management) out.push(n.management.hostIf);
  return out;
}

// ---- dual-path + topologies/dual-path.lab.yaml ------------------------------------------------------

test('dual-path with profile lab: h1/h2 local, r1/r2 external over SSH, lan1/lan2 joined to the lab by VXLAN', () => {
  assert.ok(DUAL.management, 'emulated, the lab has a management network for r1/r2');
  const lab = applyProfile(DUAL, 'lab', existsSync);
  const id = labId('dual-path');
  assert.notEqual(lab, DUAL);
  assert.deepEqual(lab.profile, {
    name: 'lab', file: path.resolve(INV), description: 'the physical dual-path lab (r1, r2 and their cables are real devices)',
  });
  assert.deepEqual(lab.nodes.map((n) => n.name), ['h1', 'h2']);
  assert.equal(lab.management, undefined, 'no managed node is left: no management network');
  assert.ok(lab.nodes.every((n) => !n.management));

  const r1 = DUAL.nodes.find((n) => n.name === 'r1')!;
  assert.deepEqual(lab.external, [
    {
      name: 'r1', kind: 'frr', driver: 'frr', interfaces: r1.interfaces, ifnames: {},
      access: { host: '198.18.254.11', port: 22, username: 'root', knownHostsFile: '${TSUNAGARI_LAB_KNOWN_HOSTS}', privateKeyFile: '${TSUNAGARI_LAB_KEY}' },
    },
    {
      name: 'r2', kind: 'frr', driver: 'frr', interfaces: DUAL.nodes.find((n) => n.name === 'r2')!.interfaces, ifnames: {},
      access: { host: '198.18.254.12', port: 22, username: 'root', knownHostsFile: '${TSUNAGARI_LAB_KNOWN_HOSTS}', privateKeyFile: '${TSUNAGARI_LAB_KEY}' },
    },
  ]);
  assert.deepEqual(hostNames(lab), ['h1', 'h2', 'r1', 'r2']);

  assert.deepEqual(lab.switches, DUAL.switches, 'lan1 and lan2 stay, with their bridges');
  const sw = lab.links.filter((l): l is SwitchLink => l.type === 'switch');
  assert.deepEqual(sw, DUAL.links.filter((l) => l.type === 'switch' && ['h1', 'h2'].includes(l.node.node)), 'h1/h2 keep their switch links as they were');
  assert.deepEqual(sw.map((l) => l.name), ['h1:eth1--lan1', 'h2:eth1--lan2']);
  assert.ok(!lab.links.some((l) => l.type === 'veth'), 'primary/backup are cables of the devices');

  const uplinks = lab.links.filter((l): l is VxlanLink => l.type === 'vxlan');
  assert.deepEqual(uplinks.map((u) => [u.name, u.vni, u.dstport, u.udpChecksum, u.a.kind === 'switch' && u.a.switch, u.a.kind === 'switch' && u.a.local, u.b]), [
    ['uplink:lan1', 1001, 4789, false, 'lan1', '198.18.255.1', { kind: 'remote', address: '198.18.255.2' }],
    ['uplink:lan2', 1002, 4789, false, 'lan2', '198.18.255.1', { kind: 'remote', address: '198.18.255.2' }],
  ]);
  const names = hostIfNames(lab);
  for (const n of names) assert.ok(isValidIfName(n), `${n} is a valid interface name (≤ 15 chars)`);
  assert.equal(new Set(names).size, names.length, `host names are unique: ${names.join(' ')}`);
  // also distinct from every host name the emulated lab has (a leftover of one is never mistaken for the other)
  const emulated = new Set(hostIfNames(DUAL));
  for (const u of uplinks) assert.ok(u.a.kind === 'switch' && !emulated.has(u.a.hostIf), u.name);
  assert.ok(uplinks.every((u) => u.a.kind === 'switch' && u.a.hostIf.startsWith(`t${id}x`)));

  assert.deepEqual(lab.externalLinks, [
    { type: 'external', name: 'r1:eth1--lan1', a: { node: 'r1', iface: 'eth1' }, segment: 'lan1' },
    { type: 'external', name: 'r2:eth1--lan2', a: { node: 'r2', iface: 'eth1' }, segment: 'lan2' },
    { type: 'external', name: 'primary', a: { node: 'r1', iface: 'eth2' }, b: { node: 'r2', iface: 'eth2' } },
    { type: 'external', name: 'backup', a: { node: 'r1', iface: 'eth3' }, b: { node: 'r2', iface: 'eth3' } },
  ]);
  assert.equal(resolveAnyLink(lab, 'primary').type, 'external');
  assert.equal(resolveAnyLink(lab, 'r2:eth3--r1:eth3'), lab.externalLinks![3]);
  assert.equal(resolveAnyLink(lab, 'r1:eth1--lan1'), lab.externalLinks![0]);
  assert.equal(resolveAnyLink(lab, 'h1:eth1'), lab.links[0]);
  assert.throws(() => resolveAnyLink(lab, 'nope'), /^UserError: unknown link nope; known: h1:eth1--lan1, h2:eth1--lan2, uplink:lan1, uplink:lan2, r1:eth1--lan1, r2:eth1--lan2, primary, backup$/);
  // the topology itself is not changed
  assert.deepEqual(DUAL.nodes.map((n) => n.name), ['h1', 'h2', 'r1', 'r2']);
  assert.equal(DUAL.profile, undefined);
});

test('probe targets: an external device by name and by interface resolve to the topology\'s addresses', () => {
  const lab = applyProfile(DUAL, 'lab', existsSync);
  assert.deepEqual(resolveTarget(lab, 'r1'), { address: '10.1.0.1', family: 4, label: 'r1 (10.1.0.1)' });
  assert.deepEqual(resolveTarget(lab, 'r1:eth2'), { address: '10.12.0.1', family: 4, label: 'r1:eth2 (10.12.0.1)' });
  assert.deepEqual(resolveTarget(lab, 'r2:lo'), { address: '10.255.0.2', family: 4, label: 'r2:lo (10.255.0.2)' });
  assert.deepEqual(resolveTarget(lab, 'h2'), { address: '10.2.0.10', family: 4, label: 'h2 (10.2.0.10)' });
  assert.throws(() => resolveTarget(lab, 'r1:eth9'), /^UserError: node r1 has no interface eth9; known: eth1, eth2, eth3, lo$/);
  assert.throws(() => resolveTarget(lab, 'r3'), /^UserError: unknown host r3; known: h1, h2, r1, r2$/);
});

// ---- profiles -----------------------------------------------------------------------------------------

test('profiles: emulated needs nothing; a missing inventory names the file and the --tags way out', () => {
  assert.equal(applyProfile(DUAL, EMULATED, () => { throw new Error('emulated must not look for files'); }), DUAL);
  assert.deepEqual(inventoryCandidates('/x/topologies/dual-path.yaml', 'lab'), ['/x/topologies/dual-path.lab.yaml', '/x/topologies/dual-path.lab.yml']);
  const asked: string[] = [];
  assert.throws(() => applyProfile(DUAL, 'prod', (f) => { asked.push(f); return false; }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'lab dual-path has no inventory for profile prod (no topologies/dual-path.prod.yaml, no profiles.prod in topologies/dual-path.yaml); '
      + 'hint: write topologies/dual-path.prod.yaml (docs/profiles.md), or select only scenarios that have one (e.g. --tags @prod)');
    return true;
  });
  assert.deepEqual(asked, [path.resolve('topologies/dual-path.prod.yaml'), path.resolve('topologies/dual-path.prod.yml')]);
  assert.throws(() => applyProfile(DUAL, 'lab', () => false), /\(e\.g\. --tags @nightly\)$/);
  assert.throws(() => applyProfile({ ...DUAL, file: '' }, 'lab', existsSync), /^UserError: cannot apply profile lab to lab dual-path \(it was not loaded from a file\)$/);
});

test('profiles: chosenProfile takes the option, else TSUNAGARI_PROFILE, else emulated; bad names are refused', () => {
  const saved = process.env.TSUNAGARI_PROFILE;
  try {
    delete process.env.TSUNAGARI_PROFILE;
    assert.equal(chosenProfile(), 'emulated');
    assert.equal(chosenProfile('lab'), 'lab');
    process.env.TSUNAGARI_PROFILE = ' lab ';
    assert.equal(chosenProfile(), 'lab');
    assert.equal(chosenProfile('emulated'), 'emulated', 'the option wins');
    process.env.TSUNAGARI_PROFILE = '';
    assert.equal(chosenProfile(), 'emulated');
    process.env.TSUNAGARI_PROFILE = 'Lab';
    assert.throws(() => chosenProfile(), /^UserError: invalid profile "Lab"; use 1\.\.24 lowercase letters, digits and '-', starting with a letter$/);
    assert.throws(() => chosenProfile('../etc'), /invalid profile "\.\.\/etc"/);
  } finally {
    if (saved === undefined) delete process.env.TSUNAGARI_PROFILE; else process.env.TSUNAGARI_PROFILE = saved;
  }
});

test('looksLikeInventory: <lab>.<profile>.yaml is an inventory, <lab>.yaml a topology', () => {
  assert.equal(looksLikeInventory('topologies/dual-path.lab.yaml'), true);
  assert.equal(looksLikeInventory('dual-path.lab.yml'), true);
  assert.equal(looksLikeInventory('topologies/dual-path.yaml'), false);
  assert.equal(looksLikeInventory('/a.b/dual-path.yaml'), false, 'only the file name counts');
});

// ---- a veth link to a device, NIC attachments -------------------------------------------------------

const MIX = `name: mix
nodes:
  h1:
    kind: host
    interfaces:
      eth1: { ipv4: 10.9.1.10/24 }
      eth2: { ipv4: 10.9.3.10/24 }
  r1:
    kind: frr
    interfaces:
      eth1: { ipv4: 10.9.1.1/24 }
      eth2: { ipv4: 10.9.3.1/24 }
      eth3: { ipv4: 10.9.4.1/30 }
  r2:
    kind: router
    interfaces:
      eth1: { ipv4: 10.9.2.1/24 }
      eth3: { ipv4: 10.9.4.2/30 }
  h2:
    kind: host
    interfaces:
      eth1: { ipv4: 10.9.2.10/24 }
switches:
  lan1: {}
  lan2: {}
links:
  - endpoints: [h1:eth1, lan1]
  - endpoints: [r1:eth1, lan1]
  - name: h1-r1
    endpoints: [h1:eth2, r1:eth2]
  - endpoints: [r1:eth3, r2:eth3]
  - endpoints: [r2:eth1, lan2]
  - endpoints: [h2:eth1, lan2]
`;
const mix = parseTopology(MIX, 'topologies/mix.yaml', root);

const MIX_INV = `profile: lab
devices:
  r1:
    host: 192.0.2.11
    port: 2222
    username: admin
    host_key: ${FP}
    private_key_env: R1_KEY
    passphrase_env: R1_PASS
    connect_timeout_ms: 2000
    interfaces: { eth2: GigabitEthernet0/2 }
  r2:
    host: r2.lab.example
    username: admin
    host_key: [${FP}]
    password_env: R2_PASSWORD
    agent: true
attach:
  lan1: { nic: { device: enp3s0, vlan: 100 } }
  lan2: { nic: { device: enp4s0 } }
  h1-r1: { vxlan: { vni: 2001, remote: 192.0.2.100, dstport: 8472, udp_checksum: true } }
`;

test('a veth link from a local node to a device becomes a switch of its own, keeping the link\'s name; nic: becomes a NicLink', () => {
  const lab = parseInventory(MIX_INV, 'topologies/mix.lab.yaml', mix);
  const id = labId('mix');
  assert.deepEqual(lab.nodes.map((n) => n.name), ['h1', 'h2']);
  assert.deepEqual(lab.external!.map((x) => [x.name, x.kind, x.driver, x.ifnames]), [
    ['r1', 'frr', 'frr', { eth2: 'GigabitEthernet0/2' }],
    ['r2', 'router', 'linux', {}],
  ]);
  assert.deepEqual(lab.external![0]!.access, {
    host: '192.0.2.11', port: 2222, username: 'admin', hostKeyFingerprints: [FP], privateKeyEnv: 'R1_KEY', passphraseEnv: 'R1_PASS', connectTimeoutMs: 2000,
  });
  assert.deepEqual(lab.external![1]!.access, { host: 'r2.lab.example', port: 22, username: 'admin', hostKeyFingerprints: [FP], passwordEnv: 'R2_PASSWORD', agent: true });

  // h1-r1: a switch `link:h1-r1` with h1:eth2 on it under the link's own name, joined to the lab by VXLAN
  assert.deepEqual(lab.switches, [
    { name: 'lan1', bridge: bridgeName(id, 0), ports: {} },
    { name: 'lan2', bridge: bridgeName(id, 1), ports: {} },
    { name: 'link:h1-r1', bridge: bridgeName(id, 2), ports: {} },
  ]);
  const own = resolveAnyLink(lab, 'h1-r1');
  assert.deepEqual(own, { type: 'switch', name: 'h1-r1', node: { node: 'h1', iface: 'eth2' }, switch: 'link:h1-r1', port: 'h1-eth2', hostIf: portName(id, 2) });
  assert.equal(resolveLink(lab, 'h1:eth2'), own);
  assert.deepEqual(resolveAnyLink(lab, 'r1:eth2'), { type: 'external', name: 'h1-r1 (device side)', a: { node: 'r1', iface: 'eth2' }, segment: 'link:h1-r1' });

  const up = lab.links.filter((l) => l.name.startsWith('uplink:'));
  assert.deepEqual(up, [
    { type: 'nic', name: 'uplink:lan1', switch: 'lan1', device: 'enp3s0', vlan: { vlan: 100 } } satisfies NicLink,
    { type: 'nic', name: 'uplink:lan2', switch: 'lan2', device: 'enp4s0' } satisfies NicLink,
    {
      type: 'vxlan', name: 'uplink:h1-r1', vni: 2001, dstport: 8472, udpChecksum: true,
      a: { kind: 'switch', switch: 'link:h1-r1', hostIf: vxlanPortName(id, 8, 'a'), local: '' }, b: { kind: 'remote', address: '192.0.2.100' },
    } satisfies VxlanLink,
  ]);
  assert.deepEqual(lab.externalLinks!.map((l) => [l.name, l.segment ?? `${l.b!.node}:${l.b!.iface}`]), [
    ['r1:eth1--lan1', 'lan1'],
    ['h1-r1 (device side)', 'link:h1-r1'],
    ['r1:eth3--r2:eth3', 'r2:eth3'],
    ['r2:eth1--lan2', 'lan2'],
  ]);
  const names = hostIfNames(lab);
  for (const n of names) assert.ok(isValidIfName(n), n);
  assert.equal(new Set(names).size, names.length, names.join(' '));
  assert.equal(lab.management, undefined);
  assert.ok(!names.includes(mgmtBridgeName(id)) && !names.includes(mgmtGatewayPortName(id)));
});

// ---- errors: file:line:col: object: message --------------------------------------------------------

test('errors: device names, unknown keys, host keys, credentials, interfaces, drivers, each at its line', () => {
  assert.deepEqual(errors(`profile: lab
devices:
  r3:
    host: 192.0.2.13
    username: root
    host_key: ${FP}
    agent: true
`), [`${INV}:3:3: device r3: is not a node of lab dual-path; nodes: h1, h2, r1, r2`]);

  assert.deepEqual(errors(`profile: lab
devices:
  r1:
    host: 192.0.2.11
    user: root
`), [
    `${INV}:4:5: device r1: missing required key 'username'`,
    `${INV}:5:5: device r1: unknown key 'user'; known: host, port, username, driver, host_key, known_hosts, private_key_file, private_key_env, passphrase_env, password_env, agent, connect_timeout_ms, … (13 in all)`,
  ]);

  assert.deepEqual(errors(`profile: lab
devices:
  r1:
    host: 192.0.2.11
    username: root
    host_key: [${FP}, SHA256:short]
    agent: true
  r2:
    host: 192.0.2.12
    username: root
    host_key: MD5:aa:bb
    known_hosts: ~/.ssh/known_hosts
    agent: true
${ATTACH}`), [
    `${INV}:6:${16 + FP.length + 2}: device r1: host_key 'SHA256:short' is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as \`ssh-keygen -lf\` prints it)`,
    `${INV}:11:15: device r2: host_key 'MD5:aa:bb' is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as \`ssh-keygen -lf\` prints it)`,
    `${INV}:12:18: device r2: give host_key or known_hosts, not both`,
  ]);

  // device-wide problems point at the device's name
  assert.deepEqual(errors(`profile: lab
devices:
  r1:
    host: 192.0.2.11
    username: root
    password_env: R1_PASSWORD
  r2:
    host: 192.0.2.12
    username: root
    host_key: ${FP}
    passphrase_env: R2_PASS
${ATTACH}`), [
    `${INV}:3:3: device r1: no host key to verify against: give host_key (SHA256:…) or known_hosts (unverified connections are not offered)`,
    `${INV}:7:3: device r2: no credentials: give private_key_file, private_key_env, agent: true or password_env`,
    `${INV}:11:21: device r2: passphrase_env needs private_key_file or private_key_env`,
  ]);

  assert.deepEqual(errors(`profile: lab
devices:
  r1:
    host: 192.0.2.11
    username: root
    host_key: ${FP}
    private_key_file: ~/.ssh/id_ed25519
    private_key_env: R1_KEY
    interfaces:
      eth2: Gi0/2
      eth9: Gi0/9
      mgmt0: Gi0/0
  r2: { host: 192.0.2.12, username: root, host_key: ${FP}, agent: true }
${ATTACH}`), [
    `${INV}:8:22: device r1: give private_key_file or private_key_env, not both`,
    `${INV}:11:13: device r1: node r1 has no interface eth9 in the topology; known: eth1, eth2, eth3, lo`,
    `${INV}:12:14: device r1: node r1 has no interface mgmt0 in the topology; known: eth1, eth2, eth3, lo`,
  ]);
});

test('errors: a kind without a default driver (responder) needs driver:', async () => {
  const home = await loadTopology('topologies/home-nat.yaml');
  const inv = (driver: string) => `profile: lab
devices:
  edge:
    host: 192.0.2.55
    username: root
    host_key: ${FP}
    agent: true
${driver}attach:
  dmz: { vxlan: { vni: 10, remote: 192.0.2.1 } }
`;
  assert.deepEqual(errors(inv(''), home, 'topologies/home-nat.lab.yaml'),
    ['topologies/home-nat.lab.yaml:3:3: device edge: no default driver for kind responder; give driver: (frr, linux, ios)']);
  const lab = parseInventory(inv('    driver: linux\n'), 'topologies/home-nat.lab.yaml', home);
  assert.deepEqual(lab.external!.map((x) => [x.name, x.kind, x.driver]), [['edge', 'responder', 'linux']]);
  assert.deepEqual(errors(inv('    driver: junos\n'), home, 'topologies/home-nat.lab.yaml'),
    ["topologies/home-nat.lab.yaml:8:13: device edge: unknown driver 'junos'; known: frr, linux, ios"]);
});

const R1R2 = `devices:
  r1:
    host: 198.18.254.11
    username: root
    host_key: ${FP}
    agent: true
  r2:
    host: 198.18.254.12
    username: root
    host_key: ${FP}
    agent: true
`;

test('errors: attachments (naming nothing, both/neither of vxlan and nic, missing for a mixed switch)', () => {
  assert.deepEqual(errors(`profile: lab
${R1R2}attach:
  lan1: { vxlan: { vni: 1001, remote: 198.18.255.2 }, nic: { device: enp3s0 } }
  lan2: {}
  lan3: { nic: { device: enp3s0 } }
  primary: { nic: { device: enp3s0 } }
`), [
    `${INV}:14:9: attachment lan1: give vxlan: or nic:, not both`,
    `${INV}:15:9: attachment lan2: give vxlan: { vni, remote } or nic: { device, vlan }`,
    `${INV}:16:3: attachment lan3: names no switch of lab dual-path and no link from a local node to an external device; known: lan1, lan2`,
    `${INV}:17:3: attachment primary: names no switch of lab dual-path and no link from a local node to an external device; known: lan1, lan2`,
  ]);

  // lan2 joins h2 (local) to r2 (external): without an attachment nothing would connect them
  assert.deepEqual(errors(`profile: lab
${R1R2}attach:
  lan1: { vxlan: { vni: 1001, remote: 198.18.255.2 } }
`), [`${INV}:13:1: inventory: switch lan2 joins local h2 to external r2: add \`attach: { lan2: { vxlan: { vni: …, remote: … } } }\` (or nic:) saying how it reaches the lab`]);
  // no attach: at all: both switches, pointing at the top of the file
  assert.deepEqual(errors(`# the lab\nprofile: lab\n${R1R2}`), [
    `${INV}:2:1: inventory: switch lan1 joins local h1 to external r1: add \`attach: { lan1: { vxlan: { vni: …, remote: … } } }\` (or nic:) saying how it reaches the lab`,
    `${INV}:2:1: inventory: switch lan2 joins local h2 to external r2: add \`attach: { lan2: { vxlan: { vni: …, remote: … } } }\` (or nic:) saying how it reaches the lab`,
  ]);

  // an attachment to a switch whose members are all external has nothing to join
  const onlyR = `profile: lab
${R1R2}  h1: { host: 198.18.254.21, username: root, host_key: ${FP}, agent: true }
attach:
  lan1: { vxlan: { vni: 1001, remote: 198.18.255.2 } }
  lan2: { vxlan: { vni: 1002, remote: 198.18.255.2 } }
`;
  assert.deepEqual(errors(onlyR), [`${INV}:15:3: attachment lan1: switch lan1 has no local member to join to the lab (its members are external: h1, r1)`]);
});

test('errors: a veth link from a local node to a device needs an attachment named after the link', () => {
  const inv = (attach: string) => `profile: lab
devices:
  r1:
    host: 192.0.2.11
    username: admin
    host_key: ${FP}
    agent: true
  r2: { host: 192.0.2.12, username: admin, host_key: ${FP}, agent: true }
attach:
  lan1: { vxlan: { vni: 1001, remote: 192.0.2.100 } }
  lan2: { vxlan: { vni: 1002, remote: 192.0.2.100 } }
${attach}`;
  assert.deepEqual(errors(inv(''), mix, 'topologies/mix.lab.yaml'), [
    'topologies/mix.lab.yaml:9:1: inventory: link h1-r1 joins local node h1 to external device r1: add `attach: { "h1-r1": { vxlan: { vni: …, remote: … } } }` (or nic:) saying how h1:eth2 reaches it',
  ]);
  assert.deepEqual(errors(inv('  h1-r1: { nic: { device: enp5s0, vlan: 12 } }\n'), mix, 'topologies/mix.lab.yaml'), []);
  assert.deepEqual(errors(inv('  h1-r1: {}\n'), mix, 'topologies/mix.lab.yaml'),
    ['topologies/mix.lab.yaml:12:10: attachment h1-r1: give vxlan: { vni, remote } or nic: { device, vlan }']);
  // r2 local: the cable r1:eth3--r2:eth3 now runs from a local node to a device as well
  const r1Only = inv('  h1-r1: { vxlan: { vni: 2001, remote: 192.0.2.100 } }\n').replace(/^ {2}r2: .*\n/m, '');
  assert.deepEqual(errors(r1Only, mix, 'topologies/mix.lab.yaml'), [
    'topologies/mix.lab.yaml:8:1: inventory: link r1:eth3--r2:eth3 joins local node r2 to external device r1: add `attach: { "r1:eth3--r2:eth3": { vxlan: { vni: …, remote: … } } }` (or nic:) saying how r2:eth3 reaches it',
  ]);
  // attached by its name, it is fine (lan2 then has only local members: an uplink to the lab is allowed)
  const both = parseInventory(`${r1Only}  r1:eth3--r2:eth3: { nic: { device: enp6s0, vlan: 34 } }\n`, 'topologies/mix.lab.yaml', mix);
  assert.deepEqual(both.nodes.map((n) => n.name), ['h1', 'r2', 'h2']);
  assert.deepEqual(resolveAnyLink(both, 'r2:eth3'), {
    type: 'switch', name: 'r1:eth3--r2:eth3', node: { node: 'r2', iface: 'eth3' }, switch: 'link:r1:eth3--r2:eth3', port: 'r2-eth3', hostIf: portName(labId('mix'), 3),
  });
  assert.equal(resolveAnyLink(both, 'r1:eth3--r2:eth3').type, 'switch', 'the name finds the local side');
  assert.deepEqual(resolveAnyLink(both, 'r1:eth3'), {
    type: 'external', name: 'r1:eth3--r2:eth3 (device side)', a: { node: 'r1', iface: 'eth3' }, segment: 'link:r1:eth3--r2:eth3',
  });
  assert.deepEqual(both.links.filter((l) => l.type === 'nic'), [
    { type: 'nic', name: 'uplink:r1:eth3--r2:eth3', switch: 'link:r1:eth3--r2:eth3', device: 'enp6s0', vlan: { vlan: 34 } },
  ]);
});

test('errors: a VXLAN link with an external end', () => {
  const vx = parseTopology(`name: vx
nodes:
  h1:
    kind: linux
    interfaces:
      eth1: { ipv4: 192.0.2.1/24 }
      vx77: { ipv4: 10.77.0.1/24 }
  h2:
    kind: linux
    interfaces:
      eth1: { ipv4: 192.0.2.2/24 }
      vx77: { ipv4: 10.77.0.2/24 }
links:
  - endpoints: [h1:eth1, h2:eth1]
  - type: vxlan
    endpoints: [h1:vx77, h2:vx77]
    underlay: [h1:eth1, h2:eth1]
    vni: 77
`, 'topologies/vx.yaml', root);
  assert.deepEqual(errors(`profile: lab
attach:
  h1:eth1--h2:eth1: { vxlan: { vni: 5, remote: 192.0.2.100 } }
devices:
  h2: { host: 192.0.2.2, username: root, host_key: ${FP}, agent: true }
`, vx, 'topologies/vx.lab.yaml'),
  ['topologies/vx.lab.yaml:5:3: device h2: is an end of VXLAN link h1:vx77--h2:vx77; VXLAN links between nodes must have both ends local (attach the device\'s segment instead)']);
});

test('errors: lab: and profile: must match the topology and the file name; schema errors name the object', () => {
  assert.deepEqual(errors(`profile: prod
lab: dual-paths
${R1R2}attach:
  lan1: { vxlan: { vni: 1001, remote: 198.18.255.2 } }
  lan2: { vxlan: { vni: 1002, remote: 198.18.255.2 } }
`), [
    `${INV}:1:10: inventory: profile prod does not match the file name (…lab.yaml)`,
    `${INV}:2:6: inventory: lab dual-paths does not match the topology's name dual-path`,
  ]);
  assert.deepEqual(errors(`profile: lab
attach:
  lan1: { vxlan: { vni: 0, remote: 198.18.255.300, vlan: 3 } }
  lan2: { nic: { device: a very long name } }
`), [
    `${INV}:3:25: attachment lan1: vni 0 is out of range 1..16777215`,
    `${INV}:3:36: attachment lan1: remote '198.18.255.300' is not a valid IP address`,
    `${INV}:3:52: attachment lan1: unknown key 'vlan'; known: vni, remote, local, dstport, udp_checksum`,
    `${INV}:4:26: attachment lan2: device 'a very long name' is not an interface name`,
  ]);
  assert.deepEqual(errors(''), [`${INV}:1:1: inventory: the file is empty`]);
  assert.deepEqual(errors('devices: {}\n'), [`${INV}:1:1: inventory: missing required key 'profile'`]);
});

// ---- paths and connect options -----------------------------------------------------------------------

test('expandPath: ${VAR} and ~/ expanded; a missing variable names the device, the field and the variable', () => {
  const env = { HOME: '/home/op', KH: '/etc/lab/known_hosts', EMPTY: '' };
  assert.equal(expandPath('${KH}', 'known_hosts', 'r1', env), '/etc/lab/known_hosts');
  assert.equal(expandPath('${HOME}/keys/${KH}', 'known_hosts', 'r1', env), '/home/op/keys//etc/lab/known_hosts');
  assert.equal(expandPath('~/x', 'private_key_file', 'r1', env), '/home/op/x');
  assert.equal(expandPath('~', 'private_key_file', 'r1', env), '/home/op');
  assert.equal(expandPath('/abs/~/x', 'private_key_file', 'r1', env), '/abs/~/x', 'only a leading ~');
  assert.equal(expandPath('$KH', 'private_key_file', 'r1', env), '$KH', 'only ${VAR}');
  for (const v of ['NOPE', 'EMPTY']) {
    assert.throws(() => expandPath(`\${${v}}/key`, 'private_key_file', 'r1', env), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, `cannot reach device r1 (private_key_file \${${v}}/key: environment variable ${v} is not set); hint: export ${v}=… before the run`);
      return true;
    });
  }
});

/** A ResolveEnv with files and sockets in memory. */
function fakeEnv(env: Record<string, string>, files: Record<string, string>, sockets: string[] = []): ResolveEnv {
  return {
    env,
    readFile: (p) => {
      if (!Object.hasOwn(files, p)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return Buffer.from(files[p]!);
    },
    exists: (p) => sockets.includes(p),
  };
}

test('externalDeviceOptions: DeviceAccess → openSession options that resolveDeviceOptions accepts', () => {
  const lab = applyProfile(DUAL, 'lab', existsSync);
  const r1 = lab.external!.find((x) => x.name === 'r1')!;
  const client = ed25519KeyPair();
  const env = { TSUNAGARI_LAB_KNOWN_HOSTS: '/lab/known_hosts', TSUNAGARI_LAB_KEY: '/lab/id_ed25519', HOME: '/home/op' };
  const o = externalDeviceOptions('r1', r1.access, env);
  assert.deepEqual(o, {
    name: 'device r1 (198.18.254.11)', host: '198.18.254.11', port: 22, username: 'root',
    knownHostsFile: '/lab/known_hosts', privateKeyFile: '/lab/id_ed25519',
  });
  const files = { '/lab/known_hosts': `198.18.254.11 ${hostKey.public}\n`, '/lab/id_ed25519': client.private };
  const d = resolveDeviceOptions(o, fakeEnv(env, files));
  assert.equal(d.device, 'device r1 (198.18.254.11)');
  assert.deepEqual([d.host, d.port, d.username, d.policy.kind, d.connectTimeoutMs], ['198.18.254.11', 22, 'root', 'known-hosts', 5000]);
  assert.equal(String(d.auth.privateKey!.reveal()), client.private);
  assert.ok(!inspect(d).includes(client.private.split('\n')[1]!), 'the key is never printed');
  // r2 is not in that known_hosts file
  const r2 = lab.external!.find((x) => x.name === 'r2')!;
  assert.throws(() => resolveDeviceOptions(externalDeviceOptions('r2', r2.access, env), fakeEnv(env, files)),
    /^UserError: cannot open SSH session to device r2 \(198\.18\.254\.12\) \(knownHostsFile \/lab\/known_hosts has no key for 198\.18\.254\.12\)$/);
  // without the variables: the device, the field and the variable are named
  assert.throws(() => externalDeviceOptions('r1', r1.access, { HOME: '/home/op' }),
    /^UserError: cannot reach device r1 \(198\.18\.254\.11\) \(known_hosts \$\{TSUNAGARI_LAB_KNOWN_HOSTS\}: environment variable TSUNAGARI_LAB_KNOWN_HOSTS is not set\); hint: export TSUNAGARI_LAB_KNOWN_HOSTS=… before the run$/);

  // fingerprints, agent (SSH_AUTH_SOCK), env credentials, port and timeout
  const mixed = parseInventory(MIX_INV, 'topologies/mix.lab.yaml', mix);
  const [x1, x2] = mixed.external!;
  const sock = '/run/agent.sock';
  const o1 = externalDeviceOptions('r1', x1!.access, { SSH_AUTH_SOCK: sock });
  assert.deepEqual(o1, {
    name: 'device r1 (192.0.2.11:2222)', host: '192.0.2.11', port: 2222, username: 'admin', hostKeyFingerprint: [FP],
    privateKeyEnv: 'R1_KEY', passphraseEnv: 'R1_PASS', connectTimeoutMs: 2000,
  });
  assert.equal(deviceLabel('r1', x1!.access), 'device r1 (192.0.2.11:2222)');
  const d1 = resolveDeviceOptions(o1, fakeEnv({ R1_KEY: client.private, R1_PASS: 'pp' }, {}));
  assert.deepEqual([d1.port, d1.policy, d1.connectTimeoutMs, String(d1.auth.passphrase!.reveal())],
    [2222, { kind: 'fingerprint', fingerprints: [FP], source: 'hostKeyFingerprint' }, 2000, 'pp']);
  const o2 = externalDeviceOptions('r2', x2!.access, { SSH_AUTH_SOCK: sock });
  assert.deepEqual(o2, {
    name: 'device r2 (r2.lab.example)', host: 'r2.lab.example', port: 22, username: 'admin', hostKeyFingerprint: [FP], passwordEnv: 'R2_PASSWORD', agent: sock,
  });
  const d2 = resolveDeviceOptions(o2, fakeEnv({ R2_PASSWORD: 'pw' }, {}, [sock]));
  assert.equal(d2.auth.agent, sock);
  assert.equal(String(d2.auth.password!.reveal()), 'pw');
  // agent: true without SSH_AUTH_SOCK is refused when connecting, not silently dropped
  const noSock = externalDeviceOptions('r2', x2!.access, {});
  assert.equal(noSock.agent, '');
  assert.throws(() => resolveDeviceOptions(noSock, fakeEnv({ R2_PASSWORD: 'pw' }, {})), /agent socket path is empty \(is SSH_AUTH_SOCK set\?\)/);
});

test('loading an inventory file: problems name the file as given', () => {
  assert.throws(() => applyProfile(DUAL, 'lab', (f) => f.endsWith('.yml')), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'cannot read inventory topologies/dual-path.lab.yml (ENOENT)');
    return true;
  });
  assert.throws(() => parseInventory('profile: lab\ndevices: [r1]\n', INV, DUAL), (e: unknown) => {
    assert.ok(e instanceof UserErrors);
    assert.deepEqual(e.errors, [`${INV}:2:10: inventory: devices must be a map (got a list)`]);
    return true;
  });
});

// ---- profiles written into the topology (`profiles:`) ---------------------------------------------------

/** dual-path.yaml with `profiles: { <name>: <body> }` appended, written to a temp dir beside nothing else. */
function inlineTopology(body: string, name = 'lab', extraFile?: string): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsg-inline-'));
  const file = path.join(dir, 'dual-path.yaml');
  cpSync(path.join(root, 'fixtures/frr'), path.join(dir, 'fixtures/frr'), { recursive: true });   // the routers' config files (a copy: a symlink out of the project is refused)
  const indented = body.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n');
  writeFileSync(file, `${readFileSync('topologies/dual-path.yaml', 'utf8')}\nprofiles:\n  ${name}:\n${indented}\n`);
  if (extraFile !== undefined) writeFileSync(path.join(dir, `dual-path.${name}.yaml`), extraFile);
  return { file, dir };
}
const INV_BODY = readFileSync(INV, 'utf8').split('\n').filter((l) => !/^(profile|lab):/.test(l)).join('\n');

test('a profile written into the topology applies exactly as the same inventory in a file beside it', async () => {
  const { file, dir } = inlineTopology(INV_BODY);
  try {
    const lab = await loadTopology(file);
    assert.deepEqual(lab.profiles, ['lab']);
    assert.deepEqual(applyProfile(lab, EMULATED, existsSync).external, undefined, 'emulated ignores it');
    const inline = applyProfile(lab, 'lab', existsSync);
    const fromFile = applyProfile(DUAL, 'lab', existsSync);
    assert.deepEqual(inline.profile, { name: 'lab', file, inline: true, description: fromFile.profile!.description });
    const same = (l: Lab) => ({ ...l, file: '', dir: '', profile: undefined, profiles: undefined });
    assert.deepEqual(same(inline), same(fromFile));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inline profile mistakes point into the topology file; a profile both inline and in a file is refused', async () => {
  const bad = inlineTopology(`devices:\n  r1: { host: 198.18.254.11, username: root, known_hosts: /k, password_env: PW, colour: red }\n  r9: { host: x, username: y, known_hosts: /k, password_env: PW }\n${ATTACH}`);
  try {
    const lab = await loadTopology(bad.file);
    const lines = readFileSync(bad.file, 'utf8').split('\n');
    const line = (re: RegExp) => lines.findIndex((l) => re.test(l)) + 1;
    assert.throws(() => applyProfile(lab, 'lab', existsSync), (e: unknown) => {
      assert.ok(e instanceof UserErrors);
      const at = line(/^ {6}r1:/);
      assert.deepEqual(e.errors, [`${bad.file}:${at}:${lines[at - 1]!.indexOf('colour') + 1}: device r1: unknown key 'colour'; known: host, port, username, driver, host_key, known_hosts, private_key_file, private_key_env, passphrase_env, password_env, agent, connect_timeout_ms, … (13 in all)`]);
      return true;
    });
    const typo = inlineTopology('devices:\n  r9: { host: x, username: y, known_hosts: /k, password_env: PW }\nattach:\n  lan9: { vxlan: { vni: 1, remote: 198.18.255.2 } }');
    try {
      const tl = readFileSync(typo.file, 'utf8').split('\n');
      const ln = (re: RegExp) => tl.findIndex((l) => re.test(l)) + 1;
      assert.throws(() => applyProfile(parseTopology(readFileSync(typo.file, 'utf8'), typo.file, typo.dir), 'lab', existsSync), (e: unknown) => {
        assert.deepEqual((e as UserErrors).errors, [
          `${typo.file}:${ln(/^ {6}r9:/)}:7: device r9: is not a node of lab dual-path; nodes: h1, h2, r1, r2`,
          `${typo.file}:${ln(/^ {6}lan9:/)}:7: attachment lan9: names no switch of lab dual-path and no link from a local node to an external device; known: lan1, lan2`,
        ]);
        return true;
      });
    } finally {
      rmSync(typo.dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(bad.dir, { recursive: true, force: true });
  }
  const twice = inlineTopology(INV_BODY, 'lab', readFileSync(INV, 'utf8'));
  try {
    assert.throws(() => applyProfile(parseTopology(readFileSync(twice.file, 'utf8'), twice.file, twice.dir), 'lab', existsSync),
      /^UserError: lab dual-path has profile lab twice: profiles\.lab in .*dual-path\.yaml and .*dual-path\.lab\.yaml; hint: keep one of the two$/);
  } finally {
    rmSync(twice.dir, { recursive: true, force: true });
  }
  assert.throws(() => applyProfile(DUAL, 'prod', () => false), /no topologies\/dual-path\.prod\.yaml, no profiles\.prod in topologies\/dual-path\.yaml\)/);
  assert.throws(() => parseTopology('name: x\nnodes: { a: {} }\nprofiles: { emulated: {} }\n', 'x.yaml', '.'),
    (e: unknown) => (e as UserErrors).errors.some((m) => /^x\.yaml:3:13: .*profile emulated is the topology itself/.test(m)));
});
