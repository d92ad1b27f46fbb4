import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURE_PROBES, formatDoctor, type DoctorReport } from '../../../src/setup/doctor.js';

const report: DoctorReport = {
  ok: false,
  checks: [
    { group: 'system', name: 'root', status: 'present', detail: 'running as root', required: true },
    { group: 'package', name: 'docker.io', status: 'present', detail: 'installed', required: true },
    { group: 'package', name: 'tcpdump', status: 'missing', detail: 'not installed', fix: 'run `sudo npx tsunagari setup` (installs it)', required: true },
    { group: 'engine', name: 'docker engine', status: 'present', detail: 'reachable at /var/run/docker.sock (foreign engine)', required: true },
    { group: 'kernel', name: 'netem', status: 'unsupported', detail: 'delay steps unavailable', fix: 'use a kernel with CONFIG_NET_SCH_NETEM', required: false },
    { group: 'image', name: 'tsunagari/debian:latest', status: 'outdated', detail: 'built from an older recipe', fix: 'run setup', required: true },
  ],
};

test('doctor output has one line per check with a mark, and the fix for anything not present', () => {
  const text = formatDoctor(report);
  const lines = text.split('\n');
  assert.equal(lines[0], 'tsunagari doctor');
  assert.ok(lines.some((l) => /^ {2}✓ root +running as root$/.test(l)), text);
  assert.ok(lines.some((l) => /^ {2}✗ tcpdump +missing: not installed; fix: run `sudo npx tsunagari setup` \(installs it\)$/.test(l)), text);
  assert.ok(lines.some((l) => /^ {2}– netem +unsupported: delay steps unavailable; fix: use a kernel/.test(l)), text);
  assert.ok(lines.some((l) => /^ {2}! tsunagari\/debian:latest +outdated: /.test(l)), text);
  assert.ok(lines.includes('packages:') && lines.includes('kernel features:'));
  assert.equal(lines.at(-1), 'not ready: 2 problems (tcpdump, tsunagari/debian:latest)');
});

test('names are aligned in one column', () => {
  const rows = formatDoctor(report).split('\n').filter((l) => /^ {2}\S /.test(l));
  const col = rows.map((r) => r.slice(4).search(/ {2}\S/) + 4 + 2);
  assert.equal(new Set(col).size, 1, rows.join('\n'));
});

test('a report with only optional gaps is ready and lists what is unavailable', () => {
  const ok: DoctorReport = { ok: true, checks: report.checks.filter((c) => c.status === 'present' || !c.required) };
  assert.equal(formatDoctor(ok).split('\n').at(-1), 'ready (unavailable here: netem)');
});

test('kernel probes cover the features steps depend on, and only veth is required', () => {
  const names = FEATURE_PROBES.map((p) => p.name);
  for (const n of ['veth', 'vxlan', 'bridge', 'netem', 'tbf', 'htb', 'nftables', '8021q', 'dummy', 'vrf']) assert.ok(names.includes(n), n);
  assert.deepEqual(FEATURE_PROBES.filter((p) => p.required).map((p) => p.name), ['veth']);
  // Probes only ever address the throw-away namespace.
  for (const p of FEATURE_PROBES) for (const c of p.cmds) assert.ok(c.includes('NS'), c.join(' '));
});
