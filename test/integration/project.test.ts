// A user's own project outside this repository: their topologies/ and Japanese features/, run with
// `tsunagari test`. Passing and failing scenarios, evidence in the reports, a typo'd host name, and
// nothing left behind afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../src/util/exec.js';
import { Context } from '../../src/lab/context.js';
import { instanceLeftovers } from './helpers.js';

const BIN = resolve('bin/tsunagari.js');
const ctx = new Context();

const TOPOLOGY = `name: mini
nodes:
  pc1: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 172.30.0.1/24 } } }
  pc2: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 172.30.0.2/24 } } }
  pc3: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 172.30.9.3/24 } } }
switches:
  sw: {}
links:
  - endpoints: [pc1:eth1, sw]
  - endpoints: [pc2:eth1, sw]
  - endpoints: [pc3:eth1, sw]
`;

function project(feature: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-project-'));
  mkdirSync(join(dir, 'topologies'));
  mkdirSync(join(dir, 'features'));
  writeFileSync(join(dir, 'topologies', 'mini.yaml'), TOPOLOGY);
  writeFileSync(join(dir, 'features', 'mini.feature'), feature);
  return dir;
}

after(async () => {
  assert.deepEqual(await instanceLeftovers(ctx, 'mini'), [], 'the run tore its lab copies down');
});

test('a Japanese feature in a user project passes, with reports written', async () => {
  const dir = project(`# language: ja
機能: 小さなラボ
  背景:
    前提 ラボ "mini" が起動している

  シナリオ: 同じサブネットのホストは通じる
    ならば pc1 から pc2 に到達できる
    かつ pc1から「pc2:eth1」に3秒以内に到達できる

  シナリオ: 別のサブネットには届かない
    ならば pc1 から pc3 に到達できない
`);
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /2 scenarios \(2 passed\)/);
  const junit = readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8');
  assert.match(junit, /同じサブネットのホストは通じる/);
  assert.match(junit, /--- evidence ---\n\[pc1から「pc2:eth1」に3秒以内に到達できる\]\npc1 → pc2:eth1 \(172\.30\.0\.2\): first reply after \d+ ms/);
  assert.ok(existsSync(join(dir, 'reports', 'cucumber.html')));
  const json = readFileSync(join(dir, 'reports', 'cucumber.json'), 'utf8');
  assert.match(json, /image\/svg\+xml/, 'the topology picture is attached');
});

test('a failing check fails the run and carries evidence; a typo names the known hosts', async () => {
  const dir = project(`# language: ja
@ラボ:mini
機能: 失敗するはずのシナリオ
  シナリオ: 届かないはずの宛先に届くと主張する
    ならば pc1 から pc3 に到達できる

  シナリオ: ホスト名の打ち間違い
    ならば pc9 から pc2 に到達できる
`);
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /pc1 cannot reach pc3 \(172\.30\.9\.3\): 0\/3 pings answered/);
  assert.match(r.stdout, /pc1 routes:\n\s*172\.30\.0\.0\/24 dev eth1/);
  assert.match(r.stdout, /unknown host pc9; known: pc1, pc2, pc3/);
});

test('a tag filter that selects no scenario is an error, not a pass (old behaviour: exit 0)', async () => {
  const dir = project(`Feature: one
  @smoke
  Scenario: same subnet
    Then pc1 can reach pc2
`);
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary', '--tags', '@nightly'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^tsunagari: no scenario was selected in features by --tags "@nightly": nothing was tested; hint: check the tag expression or name/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('undefined steps, English and Japanese: each named with file:line and the nearest phrase of the vocabulary', async () => {
  const dir = project(`Feature: typos
  Scenario: english
    Then pc1 can reech pc2
`);
  writeFileSync(join(dir, 'features', 'ja.feature'), `# language: ja
機能: 誤字
  シナリオ: 日本語
    ならば pc1 から pc2 に到達できろ
  シナリオ: 遠い
    ならば 月は緑のチーズでできている
`);
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /undefined step at features\/mini\.feature:3: Then pc1 can reech pc2\n  nearest phrase: \{host\} can reach \{target\}   \(e\.g\. Then client can reach dns\)/);
  assert.match(r.stderr, /undefined step at features\/ja\.feature:4: ならば pc1 から pc2 に到達できろ\n  近いフレーズ: \{host\} から \{target\} に到達できる/);
  assert.match(r.stderr, /undefined step at features\/ja\.feature:6: ならば 月は緑のチーズでできている\n  no phrase of the vocabulary is close/);
});

test('feature mistakes, each one clear line: an unknown @ラボ tag, an unknown lab beside a broken topology (named), a missing feature path', async () => {
  const dir = project(`# language: ja
@ラボ:minii
機能: タグの誤字
  シナリオ: 誤字
    ならば pc1 から pc2 に到達できる
`);
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /unknown lab minii; known: mini/);
  writeFileSync(join(dir, 'topologies', 'other.yaml'), 'name: minii\nnodes:\n  a: { kind: hots }\n');
  const b = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(b.code, 1);
  assert.match(b.stdout + b.stderr, /unknown lab minii; known: mini; and this topology does not load, so it may be lab minii: topologies\/other\.yaml \(line 3:/);
  const m = await run(process.execPath, [BIN, 'test', '--no-setup', 'features/nope.feature'], { cwd: dir, timeoutMs: 120000 });
  assert.equal(m.code, 1);
  assert.match(m.stderr, /^tsunagari: cannot find features\/nope\.feature \(in .*\); hint: give \.feature files or folders/m);
  for (const x of [r, b, m]) assert.doesNotMatch(x.stderr, /\n\s+at /, 'no stack trace');
});
