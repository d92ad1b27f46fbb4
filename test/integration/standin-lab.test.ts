// The stand-in "physical lab" (test/support/standin-lab.ts) the lab profile's tests run against: it comes
// up with OSPF Full on both cables, SSH from the host namespace works with its key and known_hosts (and a
// wrong known_hosts is refused), a frame sent into VNI 1001 from the host side reaches r1:eth1, it carries
// nothing tsunagari's discovery would find, and after standinDown (twice) nothing of it is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { openSession } from '../../src/devices/transport.js';
import { HostKeyRefused } from '../../src/devices/hostkey.js';
import { Context } from '../../src/lab/context.js';
import { discoverLab } from '../../src/lab/discover.js';
import { ensureDocker } from '../../src/setup/daemons.js';
import { run, runOk } from '../../src/util/exec.js';
import { localDocker } from '../../src/util/docker-client.js';
import {
  STANDIN_IMAGE, STANDIN_LABEL, SWITCH_NETNS, HOST_UNDERLAY_IF, containerName, standinDown, standinExec, standinInfo,
  standinState, standinStatus, standinUp, type StandinInfo,
} from '../support/standin-lab.js';

// progress on stderr: text on stdout can interleave with node --test's serialized frames and corrupt them
const log = (s: string): void => { process.stderr.write(`# ${s}\n`); };
let info: StandinInfo;
// the test's own throwaway namespace and VXLAN device (unique per run: other people work on this machine)
const TEST_NS = `sltest-${process.pid}`;
const TEST_VX = `sltv${process.pid % 100_000}`;

before(async () => {
  info = await standinUp({ log });
  log(`stand-in up in ${info.upMs} ms`);
});

after(async () => {
  await run('ip', ['netns', 'del', TEST_NS]);
  await run('ip', ['link', 'del', TEST_VX]);
  const t0 = Date.now();
  await standinDown({ log });
  log(`stand-in down in ${Date.now() - t0} ms`);
  await standinDown(); // idempotent
  const docker = localDocker((await ensureDocker(() => {})).socketPath);
  const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [STANDIN_LABEL] }) });
  assert.deepEqual(left.map((c) => c.Names.join(',')), [], 'no container with the stand-in label');
  assert.equal(existsSync(`/run/netns/${SWITCH_NETNS}`), false, `namespace ${SWITCH_NETNS} is gone`);
  assert.notEqual((await run('ip', ['link', 'show', 'dev', HOST_UNDERLAY_IF])).code, 0, `${HOST_UNDERLAY_IF} is gone`);
  assert.equal((await runOk('ip', ['route', 'show', '198.18.254.0/24'])).trim(), '', 'the host route is gone');
  assert.equal(existsSync(info.dir), false, `${info.dir} is gone`);
  assert.equal(existsSync(`/run/netns/${TEST_NS}`), false, `the test's namespace ${TEST_NS} is gone`);
  assert.deepEqual((await standinStatus()).present, []);
});

test('SSH from the host namespace with the stand-in key and known_hosts runs vtysh on r1', async () => {
  const s = await openSession({ host: info.routers.r1.mgmtAddress, username: 'root', knownHostsFile: info.knownHostsFile, privateKeyFile: info.keyFile });
  try {
    const r = await s.exec(`vtysh -c 'show ip ospf neighbor'`, { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const full = r.stdout.split('\n').filter((l) => l.startsWith('10.255.0.2') && /Full/.test(l));
    assert.deepEqual(full.map((l) => /\beth[23]\b/.exec(l)?.[0]).sort(), ['eth2', 'eth3'], r.stdout);
    assert.equal((await s.exec('hostname')).stdout.trim(), 'r1');
  } finally { await s.close(); }
  const r2 = await openSession({ host: info.routers.r2.mgmtAddress, username: 'root', knownHostsFile: info.knownHostsFile, privateKeyFile: info.keyFile });
  try { assert.equal((await r2.exec('hostname')).stdout.trim(), 'r2'); } finally { await r2.close(); }
});

test('a known_hosts with the wrong key for the same address is refused', async () => {
  await assert.rejects(
    openSession({ host: info.routers.r1.mgmtAddress, username: 'root', knownHostsFile: info.wrongKnownHostsFile, privateKeyFile: info.keyFile }),
    (e: unknown) => e instanceof HostKeyRefused && e.received === info.routers.r1.hostKeyFingerprint);
});

test('a frame sent into VNI 1001 from the host side reaches r1:eth1', async () => {
  // A kernel VXLAN device keeps the underlay of the namespace it was created in: create it in the host
  // namespace (local 198.18.255.1, towards the switch's 198.18.255.2), then move it into a namespace of
  // the test's own, which has no other interface — its only way to 10.1.0.1 is VNI 1001.
  await runOk('ip', ['netns', 'add', TEST_NS]);
  await runOk('ip', ['link', 'add', TEST_VX, 'type', 'vxlan', 'id', '1001', 'local', info.underlay.hostAddress,
    'remote', info.underlay.switchAddress, 'dstport', String(info.vxlan.dstport)]);
  await runOk('ip', ['link', 'set', TEST_VX, 'netns', TEST_NS]);
  await runOk('ip', ['-n', TEST_NS, 'addr', 'add', '10.1.0.99/24', 'dev', TEST_VX]);
  await runOk('ip', ['-n', TEST_NS, 'link', 'set', TEST_VX, 'up']);
  const ping = await run('ip', ['netns', 'exec', TEST_NS, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '10.1.0.1'], { timeoutMs: 10_000 });
  assert.equal(ping.code, 0, `ping 10.1.0.1 over VNI 1001:\n${ping.stdout}${ping.stderr}`);
  assert.match(ping.stdout, /3 received/);
  // r1 learned our address on eth1, with the MAC of our VXLAN device: the frames really came through
  const mac = (JSON.parse(await runOk('ip', ['-n', TEST_NS, '-j', 'link', 'show', TEST_VX])) as Array<{ address: string }>)[0]!.address;
  const neigh = await standinExec('r1', ['ip', 'neigh', 'show', '10.1.0.99']);
  assert.match(neigh.stdout, new RegExp(`^10\\.1\\.0\\.99 dev eth1 lladdr ${mac}`), neigh.stdout);
  await runOk('ip', ['netns', 'del', TEST_NS]);
});

test('the stand-in is invisible to tsunagari: only its own label, nothing discovery finds', async () => {
  const docker = localDocker((await ensureDocker(() => {})).socketPath);
  const image = await docker.getImage(STANDIN_IMAGE).inspect();
  const inherited = Object.keys(image.Config.Labels ?? {});
  for (const r of ['r1', 'r2'] as const) {
    const c = await docker.getContainer(containerName(r)).inspect();
    // Docker copies the image's own labels (tsunagari.image/recipe); the stand-in adds only its one key
    assert.deepEqual(Object.keys(c.Config.Labels).filter((k) => !inherited.includes(k)), [STANDIN_LABEL]);
    assert.equal(c.Config.Labels[STANDIN_LABEL], 'dual-path');
    assert.equal(c.Config.Hostname, r);
  }
  const found = await discoverLab(new Context(), undefined, { ovs: false });
  const ours = [...found.containers.map((c) => c.name), ...found.namespaces.map((n) => n.name), ...found.hostIfs.map((h) => h.name)]
    .filter((n) => n.startsWith('standin') || n === HOST_UNDERLAY_IF);
  assert.deepEqual(ours, [], 'tsunagari discovery finds nothing of the stand-in');
  const aliases = JSON.parse(await runOk('ip', ['-n', SWITCH_NETNS, '-j', 'link', 'show'])) as Array<{ ifname: string; ifalias?: string }>;
  assert.deepEqual(aliases.filter((l) => l.ifalias?.startsWith('tsunagari ')), []);
});

test('standinState gives each router its running config and links', async () => {
  const s = await standinState();
  for (const r of ['r1', 'r2'] as const) {
    assert.match(s[r].config, new RegExp(`hostname ${r}`));
    assert.match(s[r].config, /router ospf/);
    for (const i of ['mgmt0', 'eth1', 'eth2', 'eth3']) assert.match(s[r].links, new RegExp(`^${i}@`, 'm'));
  }
  assert.deepEqual(await standinState(), s, 'unchanged between two reads');
});
