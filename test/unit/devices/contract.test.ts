// The driver contract suite: every driver in the registry, every case under fixtures/devices/<driver>/,
// fed by recorded device output (NAPALM-style). A driver passes when its getters turn the recorded output
// into exactly expected.json, every getter it claims has an expectation, every operation it lacks fails
// with MissingCapability naming it, and a recorded candidate gives the recorded diff (or refusal).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DRIVERS, createDriver } from '../../../src/devices/index.js';
import { MissingCapability, type Capability, type Driver } from '../../../src/devices/types.js';
import { CommandRejected } from '../../../src/devices/errors.js';
import { ReplaySession } from '../../support/recorded.js';

const ROOT = 'fixtures/devices';
const ALL: Capability[] = ['facts', 'config', 'routes', 'ospf', 'bgp', 'bfd', 'load-replace', 'load-merge', 'compare', 'commit', 'commit-confirm', 'rollback', 'interfaces', 'ping', 'exec'];
/** An operation a driver does not even define fails the way callers report it. */
const absent = (d: Driver, c: Capability) => async (): Promise<never> => { throw new MissingCapability(d.name, c); };

/** The operation that needs each capability (and nothing else). */
const OPS: Record<Capability, (d: Driver) => Promise<unknown>> = {
  facts: (d) => d.facts(),
  config: (d) => d.runningConfig(),
  routes: (d) => d.routes(),
  ospf: (d) => d.neighbours('ospf'),
  bgp: (d) => d.neighbours('bgp'),
  bfd: (d) => d.neighbours('bfd'),
  'load-replace': (d) => d.loadCandidate('x', 'replace'),
  'load-merge': (d) => d.loadCandidate('x', 'merge'),
  compare: (d) => d.compare(),
  commit: (d) => d.commit({ confirmSeconds: 0 }),
  'commit-confirm': (d) => d.confirm(),
  rollback: (d) => d.rollback(),
  interfaces: (d) => (d.setInterfaceUp ? d.setInterfaceUp('eth9', false) : absent(d, 'interfaces')()),
  ping: (d) => (d.ping ? d.ping('192.0.2.1', { count: 1, timeoutMs: 1000 }) : absent(d, 'ping')()),
  exec: (d) => (d.exec ? d.exec('true') : absent(d, 'exec')()),
};

const cases = (driver: string): string[] => {
  const dir = join(ROOT, driver);
  return existsSync(dir) ? readdirSync(dir).filter((c) => statSync(join(dir, c)).isDirectory()).sort() : [];
};

async function driverFor(name: string, dir: string): Promise<{ d: Driver; s: ReplaySession }> {
  const s = new ReplaySession(dir, 'dut');
  const d = createDriver(name, async () => s);
  await d.open();
  return { d, s };
}

test('every registered driver has recorded cases, and every fixture directory is a registered driver', () => {
  for (const name of Object.keys(DRIVERS)) assert.ok(cases(name).length > 0, `no fixtures/devices/${name}/<case>/`);
  for (const dir of readdirSync(ROOT).filter((f) => statSync(join(ROOT, f)).isDirectory())) assert.ok(dir in DRIVERS, `fixtures/devices/${dir} has no driver; known: ${Object.keys(DRIVERS).join(', ')}`);
});

for (const name of Object.keys(DRIVERS)) {
  for (const kase of cases(name)) {
    const dir = join(ROOT, name, kase);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown> & { neighbours?: Record<string, unknown> };

    describe(`${name} / ${kase}`, () => {
      test('the case says where its output came from', () => {
        const readme = join(dir, 'README.md');
        const parent = join(ROOT, name, 'README.md');
        assert.ok(existsSync(readme) || existsSync(parent), `${dir}: README.md (recorded from what, or hand-written) missing`);
      });

      test('getters give exactly the expected results', async () => {
        const { d } = await driverFor(name, dir);
        assert.equal(d.name, name);
        if ('facts' in expected) assert.deepEqual(await d.facts(), expected.facts);
        if ('runningConfig' in expected) assert.equal(await d.runningConfig(), expected.runningConfig);
        if ('routes' in expected) assert.deepEqual(await d.routes(), expected.routes);
        for (const [p, want] of Object.entries(expected.neighbours ?? {})) {
          assert.deepEqual(await d.neighbours(p as 'ospf' | 'bgp' | 'bfd'), want, `${p} neighbours`);
        }
        await d.close();
      });

      test('every getter the driver claims has an expectation in the case', async () => {
        const { d } = await driverFor(name, dir);
        const claimed = { facts: 'facts', config: 'runningConfig', routes: 'routes' } as const;
        for (const [cap, key] of Object.entries(claimed)) {
          if (d.capabilities.has(cap as Capability)) assert.ok(key in expected, `${name} claims ${cap} but ${dir}/expected.json has no ${key}`);
        }
        for (const p of ['ospf', 'bgp', 'bfd'] as const) {
          if (d.capabilities.has(p)) assert.ok(expected.neighbours && p in expected.neighbours, `${name} claims ${p} but expected.json has no neighbours.${p}`);
        }
      });

      test('what the driver lacks fails with MissingCapability, naming driver and capability, touching nothing', async () => {
        const { d, s } = await driverFor(name, dir);
        for (const cap of ALL.filter((c) => !d.capabilities.has(c))) {
          const before = s.log.length;
          await assert.rejects(OPS[cap](d), (e: unknown) => e instanceof MissingCapability && e.capability === cap && e.driver === name && e.message === `driver ${name} cannot ${cap}`, cap);
          assert.equal(s.log.length, before, `${cap}: no command may run before the capability check`);
        }
      });

      const cmpFile = join(dir, 'compare.json');
      if (existsSync(cmpFile)) {
        const cmp = JSON.parse(readFileSync(cmpFile, 'utf8')) as { mode: 'replace' | 'merge'; rejected?: string };
        test(`loadCandidate (${cmp.mode}) + compare give the recorded ${cmp.rejected ? 'refusal' : 'diff'}`, async () => {
          const { d } = await driverFor(name, dir);
          const cand = readFileSync(join(dir, 'candidate.txt'), 'utf8');
          if (cmp.rejected) {
            await assert.rejects(d.loadCandidate(cand, cmp.mode), (e: unknown) => e instanceof CommandRejected && e.deviceMessage.includes(cmp.rejected!));
            await assert.rejects(d.compare(), /no candidate loaded/);
          } else {
            await d.loadCandidate(cand, cmp.mode);
            assert.equal((await d.compare()).replace(/^(---|\+\+\+) \S+/gm, '$1 dut'), readFileSync(join(dir, 'compare.diff'), 'utf8').replace(/^(---|\+\+\+) \S+/gm, '$1 dut'));
          }
        });
      }
    });
  }
}
