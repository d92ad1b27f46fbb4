// The lab pool's refusals that need no Docker: a lab already up (a ledger in the state directory) with
// another profile, or another topology, is never reused nor replaced; the message names what differs.
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

/** A ledger as `tsunagari up` leaves it for dual-path under `profile`, owned by a live process (this one). */
async function upWith(profile: string, change?: (lab: Record<string, unknown>) => void): Promise<void> {
  const { lab } = await pool(profile).findLab('dual-path');
  const topology = JSON.parse(JSON.stringify(lab)) as Record<string, unknown>;
  change?.(topology);
  const l = Ledger.create(topology as never, 'run-1');
  ensureDirs(paths.labs);
  writeFileSync(ledgerPath('dual-path'), JSON.stringify({ ...l.data, state: 'up' }));
}

before(() => { process.env.TSUNAGARI_LAB_KEY ??= '/nonexistent/key'; process.env.TSUNAGARI_LAB_KNOWN_HOSTS ??= '/nonexistent/kh'; });
after(() => rmSync(state, { recursive: true, force: true }));

test('a lab up with profile lab is not reused by an emulated run: the message names both profiles', async () => {
  await upWith('lab');
  await assert.rejects(pool('emulated').ensure('dual-path'),
    /^UserError: lab dual-path could not be brought up in this run: cannot start lab dual-path with profile emulated \(it is up with profile lab, started by run run-1\); hint: `tsunagari down dual-path` first$/);
});

test('a lab up with the same profile but another topology names the topology file', async () => {
  await upWith('emulated', (t) => { t.description = 'edited since'; });
  await assert.rejects(pool('emulated').ensure('dual-path'),
    /cannot start lab dual-path \(it is up with a different topology than topologies\/dual-path\.yaml\); hint: `tsunagari down dual-path` first/);
});
