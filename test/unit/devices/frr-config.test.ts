// FRR configuration text (src/devices/frr-config.ts): header cleaning, the normal form compared by
// compare() and rollback checks, merge by context (lines land inside their block, `no X` removes X,
// nested address-family blocks), and frr-reload.py's refusal in vtysh's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cleanFrrConfig, frrReloadError, mergeFrrConfig, normalFrrConfig } from '../../../src/devices/frr-config.js';

const RUNNING = readFileSync('fixtures/devices/frr/r1-ospf-bgp-bfd/vtysh_c_show_running_config.txt', 'utf8');

test('cleanFrrConfig drops vtysh\'s header; normalFrrConfig drops separators, end and the version line', () => {
  const clean = cleanFrrConfig(RUNNING);
  assert.match(clean, /^frr version 8\.4\.4\nfrr defaults traditional\nhostname r1\n/);
  assert.doesNotMatch(clean, /Building configuration|Current configuration/);
  const norm = normalFrrConfig(RUNNING);
  assert.doesNotMatch(norm, /^!|^end$|^frr version/m);
  assert.equal(normalFrrConfig(clean), norm, 'idempotent over the cleaned form');
});

test('merge: lines go inside their context, new contexts and top-level lines are appended', () => {
  const merged = mergeFrrConfig(RUNNING, 'interface eth1\n ip ospf cost 50\nexit\nrouter ospf\n passive-interface lo\nexit\nip route 192.0.2.0/24 blackhole\n');
  const n = normalFrrConfig(merged).split('\n');
  const eth1 = n.indexOf('interface eth1');
  const exit1 = n.indexOf('exit', eth1);
  assert.ok(n.slice(eth1, exit1).includes(' ip ospf cost 50'), 'inside interface eth1');
  const ospf = n.indexOf('router ospf');
  assert.ok(n.slice(ospf, n.indexOf('exit', ospf)).includes(' passive-interface lo'), 'inside router ospf');
  assert.ok(n.includes('ip route 192.0.2.0/24 blackhole'));
  assert.equal(n.filter((l) => l === 'router ospf').length, 1, 'no duplicate context');
});

test('merge: a line already there changes nothing; `no X` removes X (a line or a whole context)', () => {
  assert.equal(normalFrrConfig(mergeFrrConfig(RUNNING, 'interface eth1\n ip ospf bfd\nexit\n')), normalFrrConfig(RUNNING));
  const noBfd = normalFrrConfig(mergeFrrConfig(RUNNING, 'interface eth1\n no ip ospf bfd\nexit\n'));
  assert.doesNotMatch(noBfd, /^ ip ospf bfd$/m);
  assert.doesNotMatch(noBfd, /no ip ospf bfd/);
  const noOspf = normalFrrConfig(mergeFrrConfig(RUNNING, 'no router ospf\n'));
  assert.doesNotMatch(noOspf, /router ospf|ospf router-id/);
  assert.match(noOspf, /router bgp 65001/);
});

test('merge: nested address-family blocks merge too', () => {
  const m = normalFrrConfig(mergeFrrConfig(RUNNING, 'router bgp 65001\n address-family ipv4 unicast\n  network 192.0.2.0/24\n exit-address-family\nexit\n'));
  const af = m.split('\n');
  const start = af.indexOf(' address-family ipv4 unicast');
  const end = af.indexOf(' exit-address-family', start);
  assert.deepEqual(af.slice(start + 1, end), ['  network 10.255.97.1/32', '  network 192.0.2.0/24']);
  assert.equal(af.filter((l) => l === ' address-family ipv4 unicast').length, 1);
});

test('frrReloadError: vtysh\'s complaint from frr-reload.py output (recorded)', () => {
  const rec = JSON.parse(readFileSync('fixtures/devices/frr/r1-bad-candidate/commands.json', 'utf8')) as Array<{ command: string; stderr?: string; file: string }>;
  const t = rec.find((c) => c.command.includes('--test'))!;
  const msg = frrReloadError(`${t.stderr}\n${readFileSync(`fixtures/devices/frr/r1-bad-candidate/${t.file}`, 'utf8')}`);
  assert.match(msg, /line \d+: % Unknown command:\s+passive-interfaces lo/);
  assert.doesNotMatch(msg, /\\n|b'/);
});
