// The journal of scenario changes: an entry is on disk BEFORE the change is applied, goes when its undo
// ran, stays when the change failed and could not be undone; a corrupt journal is an error (the lab's
// state is then unknown), never an empty one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const state = mkdtempSync(join(tmpdir(), 'tsunagari-journal-'));
process.env.TSUNAGARI_STATE = state;
const { Journal, journaled, journalPath } = await import('../../../src/lab/journal.js');
after(() => rmSync(state, { recursive: true, force: true }));

const INV = { kind: 'commands' as const, commands: [{ where: { kind: 'host' as const }, label: 'port x', argv: ['ip', 'link', 'set', 'dev', 'x', 'up'] }] };

test('write-ahead: the inverse is recorded before the change runs, and forgotten after its undo', async () => {
  const j = new Journal('jlab', 'run-1');
  let seenDuringApply = 0;
  const undo = await journaled(j, 'link x down', INV, async () => { throw new Error('not called'); }, async () => {
    seenDuringApply = j.entries().length;
    return async () => undefined;
  });
  assert.equal(seenDuringApply, 1, 'recorded before apply');
  assert.equal(j.entries()[0]?.what, 'link x down');
  assert.equal(j.entries()[0]?.run, 'run-1');
  assert.equal(statSync(journalPath('jlab')).mode & 0o777, 0o600);
  await undo();
  assert.deepEqual(j.entries(), []);
});

test('a failed change is undone at once through its inverse; the entry stays when that fails too', async () => {
  const j = new Journal('jlab2');
  const replayed: string[] = [];
  await assert.rejects(journaled(j, 'a', INV, async (i) => { replayed.push(i.kind); }, async () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(replayed, ['commands']);
  assert.deepEqual(j.entries(), []);
  await assert.rejects(journaled(j, 'b', INV, async () => { throw new Error('device gone'); }, async () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(j.entries().map((e) => e.what), ['b'], 'kept for recovery');
});

test('entries of several changes are kept in order; an unreadable journal is an error, not "clean"', () => {
  const j = new Journal('jlab3');
  const a = j.record('one', INV);
  j.record('two', INV);
  assert.deepEqual(j.entries().map((e) => e.what), ['one', 'two']);
  j.forget(a);
  assert.deepEqual(j.entries().map((e) => e.what), ['two']);
  mkdirSync(join(state, 'labs'), { recursive: true });
  writeFileSync(journalPath('jlab4'), '{ half');
  assert.throws(() => new Journal('jlab4').entries(), /journal .*jlab4\.journal\.json is unreadable/);
  writeFileSync(journalPath('jlab5'), JSON.stringify({ version: 1, lab: 'other', entries: [] }));
  assert.throws(() => new Journal('jlab5').entries(), /is not the journal of lab jlab5/);
  assert.throws(() => new Journal('../x').entries(), /invalid instance name/);
});
