// The lab pool's decisions that need no Docker: a lab `tsunagari up` keeps with another profile or
// another topology is never reused; a singular lab (external devices) cannot get a copy of its own, so
// the run refuses naming what differs. (Copies and leases on the real engine: test/integration/parallel-runs.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const state = mkdtempSync(join(tmpdir(), 'tsunagari-pool-'));
process.env.TSUNAGARI_STATE = state;   // before the modules below compute their paths
const { LabPool } = await import('../../../src/scenario/pool.js');
const { Ledger, ledgerPath } = await import('../../../src/lab/ledger.js');
const { ensureDirs, paths } = await import('../../../src/setup/paths.js');

const pool = (profile: string) => new LabPool({ projectDir: process.cwd(), profile });

/** A ledger as `tsunagari up` leaves it for dual-path under `profile` (kept, up, nobody holding it). */
async function upWith(profile: string, change?: (lab: Record<string, unknown>) => void): Promise<void> {
  const { lab } = await pool(profile).findLab('dual-path');
  const topology = JSON.parse(JSON.stringify(lab)) as Record<string, unknown>;
  change?.(topology);
  const l = Ledger.create(topology as never, 'run-1', { keep: true });
  ensureDirs(paths.labs);
  writeFileSync(ledgerPath('dual-path'), JSON.stringify({ ...l.data, state: 'up' }));
}

before(() => { process.env.TSUNAGARI_LAB_KEY ??= '/nonexistent/key'; process.env.TSUNAGARI_LAB_KNOWN_HOSTS ??= '/nonexistent/kh'; process.env.TSUNAGARI_LEASE_WAIT = '1'; });
after(() => rmSync(state, { recursive: true, force: true }));

test('profile lab (external devices: one instance only) is refused while the kept lab has another topology: the message says why', async () => {
  await upWith('emulated');
  await assert.rejects(pool('lab').ensure('dual-path'),
    /^UserError: lab dual-path could not be brought up in this run: cannot start lab dual-path \(it is up with profile emulated, this run wants lab; its profile lab has external devices \(r1, r2\), so it cannot have a second copy\); hint: `tsunagari down dual-path` first$/);
});

test('the same profile but another topology names the file, and refuses the singular lab', async () => {
  await upWith('lab', (t) => { t.description = 'edited since'; });
  await assert.rejects(pool('lab').ensure('dual-path'),
    /cannot start lab dual-path \(it is up from topologies\/dual-path\.yaml as it was then, not topologies\/dual-path\.yaml as it is now; its profile lab has external devices/);
});

test('TSUNAGARI_REUSE must be auto or never', () => {
  process.env.TSUNAGARI_REUSE = 'sometimes';
  try {
    assert.throws(() => pool('emulated'), /invalid TSUNAGARI_REUSE sometimes \(auto or never\)/);
  } finally { delete process.env.TSUNAGARI_REUSE; }
});
