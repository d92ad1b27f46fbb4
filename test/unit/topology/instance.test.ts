// Lab instances as data: every host-visible name is injective over (instance, object) — adversarial lab
// and node names cannot collide — fits Linux's limits, and a copy differs from its lab only in its names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../../src/topology/load.js';
import { hostVisibleNames, instantiate, baseName } from '../../../src/topology/instance.js';
import { containerName, instanceName, isInstanceName, labOfInstance, mgmtNetnsName, netnsName, underlayNs } from '../../../src/topology/naming.js';
import type { Lab } from '../../../src/topology/types.js';

/** A lab named `name` with netns/docker nodes `nodes`, all on one switch, a switch↔switch VXLAN and an frr node (management). */
function lab(name: string, nodes: string[]): Lab {
  const lines = [`name: ${name}`, 'nodes:'];
  nodes.forEach((n, i) => lines.push(`  ${n}: { kind: host, runtime: ${i % 2 ? 'docker' : 'netns'}, interfaces: { eth1: { ipv4: 10.9.${i}.1/24 } } }`));
  lines.push('  rt: { kind: frr, interfaces: { eth1: { ipv4: 10.8.0.1/24 } } }');
  lines.push('switches: { s1: {}, s2: {} }', 'links:');
  for (const n of nodes) lines.push(`  - endpoints: [${n}:eth1, s1]`);
  lines.push('  - endpoints: [rt:eth1, s2]');
  lines.push('  - { name: ov, type: vxlan, endpoints: [s1, s2], vni: 5 }');
  return parseTopology(lines.join('\n') + '\n', `${name}.yaml`, '.');
}

test('instance names: the lab itself or <lab>_<n>; anything else (paths, dots, labels read back) is refused', () => {
  assert.equal(instanceName('home-nat', 0), 'home-nat');
  assert.equal(instanceName('home-nat', 2), 'home-nat_2');
  assert.equal(labOfInstance('home-nat_2'), 'home-nat');
  for (const ok of ['a', 'home-nat', 'home-nat_1', 'x-1_9999']) assert.equal(isInstanceName(ok), true, ok);
  for (const bad of ['', '../../etc/pam', 'a/b', 'a.b', 'A', '-a', 'a_0', 'a_', 'a_1_2', 'a b', 'a\n', `a${'b'.repeat(24)}`, 'x_10000', 42, undefined]) {
    assert.equal(isInstanceName(bad), false, String(bad));
  }
});

test('adversarial pairs: lab a + node b-c and lab a-b + node c (and the like) never share a host-visible name', () => {
  const pairs: [string, string[], string, string[]][] = [
    ['a', ['b-c'], 'a-b', ['c']],
    ['a', ['vx0a', '_mgmt'.slice(1) + '0', 'x'], 'a-mgmt0', ['y']],
    ['lab', ['x--y'], 'lab-x', ['-y'.replace('-', 'z')]],
    ['n', ['n-n-n'], 'n-n', ['n-n']],
  ];
  for (const [la, na, lb, nb] of pairs) {
    const A = lab(la, na);
    const B = lab(lb, nb);
    const namesA = new Set(hostVisibleNames(A));
    const clash = hostVisibleNames(B).filter((n) => namesA.has(n));
    assert.deepEqual(clash, [], `${la}/${na} vs ${lb}/${nb}`);
  }
});

test('injective over many instances: every (instance, object) gets its own name, within IFNAMSIZ', () => {
  const labs = ['a', 'a-b', 'ab', 'a-b-c', 'x1', 'x1-2'];
  const seen = new Map<string, string>();
  for (const l of labs) {
    for (let copy = 0; copy < 40; copy++) {
      const inst = instantiate(lab(l, ['b', 'b-c', 'c', 'c-1']), instanceName(l, copy));
      for (const n of hostVisibleNames(inst)) {
        const who = `${inst.name}`;
        const prev = seen.get(n);
        assert.ok(prev === undefined || prev === who, `${n} used by ${prev} and ${who}`);
        seen.set(n, who);
        if (!n.startsWith('tsunagari-')) assert.ok(n.length <= 15, `${n} is longer than IFNAMSIZ-1`);
      }
    }
  }
  assert.ok(seen.size > 2000);
});

test('node, underlay and management namespaces of one instance are disjoint by construction', () => {
  assert.notEqual(netnsName('a', 'mgmt'), mgmtNetnsName('a'));   // (a node named mgmt is refused in labs with management anyway)
  assert.notEqual(netnsName('a', 'vx0a'), underlayNs('a', 0, 'a'));
  assert.equal(containerName('a_2', 'b-c'), 'tsunagari-a_2.b-c');
});

test('a copy is the lab under other names: same nodes, addresses and links; names re-derived from the instance', () => {
  const base = lab('home', ['h1', 'h2']);
  const copy = instantiate(base, 'home_3');
  assert.equal(copy.name, 'home_3');
  assert.equal(copy.lab, 'home');
  assert.equal(baseName(copy), 'home');
  assert.notEqual(copy.id, base.id);
  assert.equal(copy.nodes[0]!.netns, 'tsunagari-home_3.h1');
  assert.equal(copy.management?.netns, 'tsunagari-home_3._mgmt');
  assert.ok(copy.switches.every((s) => s.bridge.startsWith(`t${copy.id}`)));
  // everything but the names is the same
  const strip = (l: Lab) => JSON.parse(JSON.stringify({ ...l, name: '', id: '', lab: '' }), (k, v) =>
    (['container', 'netns', 'underlayNs', 'bridge', 'hostIf', 'gatewayIf'].includes(k) ? '' : v));
  assert.deepEqual(strip(copy), strip(base));
  // deterministic, and the lab's own instance is the lab
  assert.deepEqual(instantiate(base, 'home_3'), copy);
  assert.equal(instantiate(base, 'home'), base);
  assert.throws(() => instantiate(base, 'other_1'), /not an instance of lab home/);
  assert.throws(() => instantiate(base, '../x'), /not an instance of lab home/);
});
