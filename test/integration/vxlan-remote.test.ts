// A VXLAN towards "another machine": the lab's switch gets a VXLAN port towards a remote VTEP address.
// The other machine is played by a network namespace this test creates (joined to ours by a veth with
// link-local addresses), holding its own kernel VXLAN device with the other end of the overlay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { discoverLab } from '../../src/lab/discover.js';
import { openLab } from '../../src/lab/running.js';
import { run, runOk } from '../../src/util/exec.js';
import { pings } from './helpers.js';

const ctx = new Context();
const REMOTE_NS = 'tsunagari-test-remote-vtep';
const HOST_IF = 'tsu-rvtep0';

const TOPOLOGY = `name: vxremote
nodes:
  h1: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.88.0.1/24, mtu: 1450 } } }
switches:
  sw: {}
links:
  - endpoints: [h1:eth1, sw]
  - name: to-remote
    type: vxlan
    endpoints: [sw]
    remote: 169.254.88.2
    local: 169.254.88.1
    vni: 88
    dstport: 4789
`;

before(async () => {
  // the "other machine": a namespace with the far VTEP and an overlay address 10.88.0.2
  await runOk('ip', ['netns', 'add', REMOTE_NS]);
  await runOk('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', REMOTE_NS]);
  await runOk('ip', ['-batch', '-'], { input: `addr add 169.254.88.1/30 dev ${HOST_IF}\nlink set dev ${HOST_IF} up\n` });
  await runOk('ip', ['-n', REMOTE_NS, '-batch', '-'], { input: [
    'link set dev lo up', 'addr add 169.254.88.2/30 dev uplink', 'link set dev uplink up',
    'link add vx88 type vxlan id 88 local 169.254.88.2 remote 169.254.88.1 dstport 4789',
    'addr add 10.88.0.2/24 dev vx88', 'link set dev vx88 up', ''].join('\n') });
});

after(async () => {
  await teardown(ctx, 'vxremote').catch(() => undefined);
  await run('ip', ['link', 'del', HOST_IF]);
  await run('ip', ['netns', 'del', REMOTE_NS]);
});

test('a switch reaches a host on another machine through a VXLAN to its VTEP address', async () => {
  const lab = parseTopology(TOPOLOGY, 'vxremote.yaml', process.cwd());
  await up(ctx, lab);
  const h1 = await openLab(ctx, 'vxremote').handle('h1');
  assert.equal(await pings(h1.netnsPath, '10.88.0.2'), true, 'h1 → 10.88.0.2 across the VXLAN to 169.254.88.2');
  const vx = lab.links[1];
  assert.ok(vx?.type === 'vxlan' && vx.a.kind === 'switch');
  const dev = await runOk('ip', ['-d', 'link', 'show', 'dev', vx.a.hostIf]);
  assert.match(dev, /vxlan id 88 remote 169\.254\.88\.2 local 169\.254\.88\.1/);
  assert.match(dev, /tsunagari lab=vxremote/, 'the VXLAN device carries the lab label');
  await teardown(ctx, 'vxremote');
  assert.equal((await discoverLab(ctx, 'vxremote')).count, 0);
  assert.equal((await run('ip', ['link', 'show', 'dev', vx.a.hostIf])).code !== 0, true, 'the VXLAN device is gone');
});
