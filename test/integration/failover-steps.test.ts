// The failover steps in a user project run with `tsunagari test` (English and Japanese): probes started,
// a carrier cut and its repair marked as events, recovery and outage checks passing with the figures and
// the timeline in the reports; a silent cut that never recovers and an outage over its bound failing with
// the numbers; every cut undone and every prober gone afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../src/util/exec.js';
import { Context } from '../../src/lab/context.js';
import { instanceLeftovers } from './helpers.js';
import { METER_PATH } from '../../src/probes/outage.js';

const BIN = resolve('bin/tsunagari.js');
const ctx = new Context();
const LAB = 'failover-steps';

const TOPOLOGY = `name: ${LAB}
nodes:
  h1: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.45.0.1/24 } } }
  h2: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.45.0.2/24 } } }
  h3: { kind: host, runtime: netns, interfaces: { eth1: { ipv4: 10.45.0.3/24 } } }
switches:
  lan: {}
links:
  - endpoints: [h1:eth1, lan]
  - endpoints: [h2:eth1, lan]
  - endpoints: [h3:eth1, lan]
`;

function project(features: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-failover-'));
  mkdirSync(join(dir, 'topologies'));
  mkdirSync(join(dir, 'features'));
  writeFileSync(join(dir, 'topologies', `${LAB}.yaml`), TOPOLOGY);
  for (const [name, text] of Object.entries(features)) writeFileSync(join(dir, 'features', name), text);
  return dir;
}

async function meters(): Promise<string> {
  return (await run('pgrep', ['-af', METER_PATH])).stdout.trim();
}

after(async () => {
  assert.deepEqual(await instanceLeftovers(ctx, LAB), [], 'the run tore its lab copies down');
  assert.equal(await meters(), '', 'no outage meter program left running');
});

test('carrier cut and repair: recovery and outage checks pass, with the figures and the timeline in the reports', async () => {
  const dir = project({
    'en.feature': `@lab:${LAB}
Feature: failover figures
  Scenario: a switch port goes down and comes back
    Given h1 keeps probing h2 every 5 ms
    When the link "h2:eth1--lan" goes down
    And the link "h2:eth1--lan" comes back up
    Then connectivity recovers within 3 s
    And the outage lasts at most 10 s
    And at most 2000 probes are lost
`,
    'ja.feature': `# language: ja
@ラボ:${LAB}
機能: 通信断の計測
  シナリオ: 何も起きなければ通信断はない
    前提 h2 から h1 へ 10 ミリ秒 間隔でプローブを送り続ける
    ならば 通信断は 0 ミリ秒 以内である
    かつ 損失したプローブは 0 個以下である
`,
  });
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /2 scenarios \(2 passed\)/);
  const json = readFileSync(join(dir, 'reports', 'cucumber.json'), 'utf8');
  type Embedding = { mime_type: string; data: string };
  const embeddings = (JSON.parse(json) as Array<{ elements: Array<{ steps: Array<{ embeddings?: Embedding[] }> }> }>)
    .flatMap((f) => f.elements.flatMap((e) => e.steps.flatMap((st) => st.embeddings ?? [])));
  const texts = embeddings.filter((e) => e.mime_type === 'text/plain').map((e) => Buffer.from(e.data, 'base64').toString('utf8'));
  const outage = texts.find((t) => t.startsWith('outage '));
  assert.ok(outage, `an outage figure among the text attachments:\n${texts.join('\n---\n')}`);
  assert.match(outage!, /^outage [\d.]+ m?s \(\d+ probes? lost\) forward, [\d.]+ m?s \(\d+ probes? lost\) reverse — h1 → h2 \(10\.45\.0\.2\)/);
  // Down and up run within a few ms of each other: the outage starts after one of them.
  assert.match(outage!, /after "the link "h2:eth1--lan" (goes down|comes back up)"/, 'a When step is the event');
  assert.ok(texts.some((t) => t.startsWith('no outage (')), 'the quiet Japanese scenario says so');
  assert.ok(embeddings.filter((e) => e.mime_type === 'image/svg+xml').some((e) => /class="outage"/.test(Buffer.from(e.data, 'base64').toString('utf8'))), 'a timeline with the outage');
  const junit = readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8');
  process.stdout.write(`# ${outage!.split('\n')[0]}\n`);
  assert.match(junit, /a switch port goes down and comes back/);
});

test('a silent cut that is never undone and an outage over its bound fail with the numbers', async () => {
  const dir = project({
    'fail.feature': `@lab:${LAB}
Feature: failures carry numbers
  Scenario: nobody repairs a silent cut
    Given h1 keeps probing h2 every 5 ms
    When the link "h2:eth1--lan" silently drops all traffic
    Then connectivity recovers within 500 ms

  Scenario: a cut longer than allowed
    Given h1 keeps probing h2 every 5 ms
    When the link "h2:eth1--lan" goes down
    And the link "h2:eth1--lan" comes back up
    Then the outage lasts at most 1 ms

  Scenario: a cut off the probed path interrupts nothing, so there is no recovery to pass
    Given h1 keeps probing h2 every 5 ms
    When the link "h3:eth1--lan" silently drops all traffic
    Then connectivity recovers within 2 s
`,
  });
  const r = await run(process.execPath, [BIN, 'test', '--no-setup', '--format', 'summary'], { cwd: dir, timeoutMs: 180_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /h1 → h2 \(10\.45\.0\.2\): connectivity did not recover within 500 ms after "the link "h2:eth1--lan" silently drops all traffic": outage ≥ \d+ ms, not recovered \(\d+ probes? lost\) forward/);
  assert.match(r.stdout, /h1 → h2 \(10\.45\.0\.2\): the outage (lasted \d+ ms|lasts ≥ \d+ ms and has not ended) \((forward|reverse), ±\d+ ms\), expected at most 1 ms/);
  // old behaviour: passed (nothing was lost, so "recovered" at once)
  assert.match(r.stdout, /h1 → h2 \(10\.45\.0\.2\): connectivity was never interrupted after "the link "h3:eth1--lan" silently drops all traffic": no probe was lost after it \(\d+ sent forward, \d+ reverse\), so there is no recovery to time/);
  assert.match(r.stdout, /3 scenarios \(3 failed\)/);
});
