// The benchmark's reading of the peer scripts' result lines (../shared/bench-peers, lib.sh pb_result) and
// its statistics: per-repetition sums of phases, medians with min–max, ratios and targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResultLine, sumPhases, type PeerResult } from '../../../bench/peers.js';
import { row, stat, table } from '../../../bench/lib.js';

test('a RESULT line becomes its fields; other lines are ignored', () => {
  const r = parseResultLine('RESULT bench=netns-floor mode=ovs n=16 rep=2 phase=mesh_par secs=0.922 ok=240 fail=0 rtt_med_ms=0.522 rtt_max_ms=7.1');
  assert.deepEqual([r?.bench, r?.mode, r?.n, r?.rep, r?.phase, r?.secs, r?.kv.fail], ['netns-floor', 'ovs', 16, 2, 'mesh_par', 0.922, '0']);
  assert.equal(parseResultLine('# cpus: 2  loadavg: 3.2'), undefined);
  assert.equal(parseResultLine('SKIP bench=mininet mode=user reason=x'), undefined);
  assert.equal(parseResultLine('RESULT bench=x mode=y n=4 rep=1 phase=p secs=oops'), undefined);
});

test('a lifecycle is the sum of its phases per repetition; incomplete repetitions do not count', () => {
  const lines = [
    'RESULT bench=mininet mode=lxbr n=4 rep=1 phase=total secs=0.5',
    'RESULT bench=docker-floor mode=- n=4 rep=1 phase=run_par secs=0.5',
    'RESULT bench=docker-floor mode=- n=4 rep=1 phase=rm_one_call secs=0.1',
    'RESULT bench=docker-floor mode=- n=4 rep=2 phase=run_par secs=0.7',
    'RESULT bench=docker-floor mode=- n=4 rep=2 phase=rm_one_call secs=0.2',
    'RESULT bench=docker-floor mode=- n=4 rep=3 phase=run_par secs=9',
  ];
  const results = lines.map(parseResultLine) as PeerResult[];
  const s = sumPhases(results, 'docker-floor', '-', 4, ['run_par', 'rm_one_call']);
  assert.deepEqual(s && [s.n, +s.min.toFixed(3), +s.median.toFixed(3), +s.max.toFixed(3)], [2, 0.6, 0.75, 0.9]);
  assert.equal(sumPhases(results, 'docker-floor', '-', 16, ['run_par']), undefined);
});

test('rows: ratio is peer ÷ tsunagari, targets on ratio or value, rates shown as q/s', () => {
  const fast = row('1 lifecycle', 16, stat([1, 2, 3]), { name: 'peer', s: stat([6]) }, {}, { text: '≥ 5×', kind: 'ratio>=', value: 5 });
  assert.deepEqual([fast.tsunagari_s, fast.peer_s, fast.ratio, fast.target_ok, fast.tsunagari_min_s, fast.reps], [2, 6, 3, false, 1, 3]);
  const mesh = row('2 mesh', 16, stat([0.05]), null, {}, { text: '≤ 0.3 s', kind: 'value<=', value: 0.3 });
  assert.deepEqual([mesh.ratio, mesh.peer, mesh.target_ok], [null, null, true]);
  const rate = row('4 q/s', 1, stat([1 / 2500]), null, { unit: 'q/s', tsunagari_rate: 2500 }, { text: '≥ 2,000 q/s', kind: 'value>=', value: 2000 });
  assert.equal(rate.target_ok, true);
  const t = table([fast, mesh, rate]);
  assert.match(t, /MISS ≥ 5×/);
  assert.match(t, /2,500 q\/s/);
  assert.match(t, /2\.00 s \(1\.00 s–3\.00 s\)/);
});
