// Runs `tsunagari setup` for real: engine, OVS and both built-in images. Needs root; leaves the daemons and
// images in place (they are what setup is for) and removes every container and bridge it creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, runOk } from '../../src/util/exec.js';
import { setup, findEngine, ensureImages, doctor, formatDoctor } from '../../src/setup/index.js';
import { BUILTIN_IMAGES, RECIPES, RECIPE_LABEL, recipeHash } from '../../src/setup/images.js';
import { localDocker } from '../../src/util/docker-client.js';

const isRoot = process.getuid?.() === 0;
const lines: string[] = [];
const log = (l: string): void => { lines.push(l); };

test('setup brings up Docker, OVS and the built-in images', { skip: !isRoot && 'needs root', timeout: 15 * 60_000 }, async (t) => {
  const result = await setup({ log });
  for (const l of lines) t.diagnostic(l);
  const docker = localDocker(result.docker.socketPath);

  await t.test('docker answers a ping', async () => {
    const pong = await docker.ping();
    assert.equal(String(pong), 'OK');
  });

  await t.test('findEngine finds the same engine and OVS without starting anything', async () => {
    const found = await findEngine();
    assert.equal(found.dockerSocket, result.docker.socketPath);
    assert.equal(found.ovsDb, result.ovs.db);
  });

  await t.test('a netdev bridge can be added to OVS and deleted again', async () => {
    const br = 'tsdoctest0';
    const vsctl = (...a: string[]) => runOk('ovs-vsctl', [`--db=${result.ovs.db}`, '--timeout=20', ...a], { timeoutMs: 30_000 });
    await vsctl('--if-exists', 'del-br', br);
    try {
      await vsctl('add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev');
      assert.match(await vsctl('list-br'), new RegExp(`^${br}$`, 'm'));
      assert.equal((await vsctl('get', 'bridge', br, 'datapath_type')).trim(), 'netdev');
    } finally {
      await vsctl('--if-exists', 'del-br', br);
    }
    assert.doesNotMatch(await vsctl('list-br'), new RegExp(`^${br}$`, 'm'));
  });

  await t.test('both images exist with their recipe labels', async () => {
    for (const name of ['host', 'debian'] as const) {
      const info = await docker.getImage(BUILTIN_IMAGES[name]).inspect();
      assert.equal(info.Config.Labels?.[RECIPE_LABEL], recipeHash(RECIPES[name]), name);
      assert.deepEqual(info.Config.Cmd, ['/usr/local/sbin/tsunagari-init']);
    }
  });

  await t.test('a second ensureImages reuses both images (no rebuild)', async () => {
    const before = result.images.map((i) => i.id);
    const again = await ensureImages(docker, ['host', 'debian'], log);
    assert.deepEqual(again.map((i) => i.built), [false, false]);
    assert.deepEqual(again.map((i) => i.id), before);
  });

  await t.test('a container of each image runs with NetworkMode none until removed', async () => {
    for (const name of ['host', 'debian'] as const) {
      const c = await docker.createContainer({
        name: `tsunagari-setuptest-${name}-${process.pid}`,
        Image: BUILTIN_IMAGES[name],
        Labels: { 'tsunagari.test': 'setup' },
        HostConfig: { NetworkMode: 'none' },
      });
      try {
        await c.start();
        const out = await run('docker', ['-H', `unix://${result.docker.socketPath}`, 'exec', c.id, 'sh', '-c', 'echo alive; cat /proc/1/cmdline'], { timeoutMs: 30_000 });
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stdout, /^alive\n.*tsunagari-init/s);
        const st = await c.inspect();
        assert.equal(st.State.Running, true);
        assert.equal(st.HostConfig.NetworkMode, 'none');
      } finally {
        await c.remove({ force: true });
      }
      await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
    }
  });

  await t.test('doctor reports ready and removes its probe namespace', async () => {
    const report = await doctor();
    for (const l of formatDoctor(report).split('\n')) t.diagnostic(l);
    assert.equal(report.ok, true, formatDoctor(report));
    const ns = (await run('ip', ['netns', 'list'])).stdout;
    assert.doesNotMatch(ns, new RegExp(`tsunagari-doctor-${process.pid}\\b`));
  });
});
