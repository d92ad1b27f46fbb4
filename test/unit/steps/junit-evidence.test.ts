import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evidenceByScenario, addEvidenceToJunit } from '../../../steps/junit-evidence.js';

const NDJSON = [
  { pickle: { id: 'p1', name: 'A & B', steps: [{ id: 's1', text: 'pc1 can reach pc2' }] } },
  { pickle: { id: 'p2', name: 'quiet', steps: [] } },
  { testCase: { id: 'c1', pickleId: 'p1', testSteps: [{ id: 't1', pickleStepId: 's1' }] } },
  { testCase: { id: 'c2', pickleId: 'p2', testSteps: [] } },
  { testCaseStarted: { id: 'r1', testCaseId: 'c1' } },
  { attachment: { testCaseStartedId: 'r1', testStepId: 't1', mediaType: 'text/plain', body: 'first reply after 5 ms ]]> ok' } },
  { attachment: { testCaseStartedId: 'r1', testStepId: 't1', mediaType: 'image/svg+xml', body: '<svg/>' } },
  { testCaseStarted: { id: 'r2', testCaseId: 'c2' } },
].map((x) => JSON.stringify(x)).join('\n');

test('text attachments of each scenario go into its JUnit system-out, safely escaped', () => {
  assert.deepEqual(evidenceByScenario(NDJSON), [['A & B', '[pc1 can reach pc2]\nfirst reply after 5 ms ]]> ok'], ['quiet', '']]);
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-junit-'));
  writeFileSync(join(dir, 'messages.ndjson'), NDJSON);
  writeFileSync(join(dir, 'junit.xml'), `<?xml version="1.0"?>
<testsuite name="t">
  <testcase classname="f" name="A &amp; B" time="1">
    <system-out><![CDATA[Then pc1 can reach pc2....passed]]></system-out>
  </testcase>
  <testcase classname="f" name="quiet" time="0">
  </testcase>
</testsuite>
`);
  addEvidenceToJunit(dir);
  const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
  assert.match(xml, /passed\n\n--- evidence ---\n\[pc1 can reach pc2\]\nfirst reply after 5 ms \]\]\]\]><!\[CDATA\[> ok\]\]><\/system-out>/);
  assert.doesNotMatch(xml, /svg/);
  assert.match(xml, /name="quiet" time="0">\n  <\/testcase>/, 'a scenario without evidence is left as it was');
});

test('control bytes and broken UTF-8 in command output leave junit.xml valid XML (shown as \\xNN)', () => {
  const evil = `bell\x07 nul\x00 esc\x1b[31m red ${Buffer.from([0xff, 0xfe, 0x41]).toString('utf8')} lone\uD800x`;
  const nd = [
    { pickle: { id: 'p1', name: 'evil', steps: [{ id: 's1', text: 'h1 runs "x"' }] } },
    { testCase: { id: 'c1', pickleId: 'p1', testSteps: [{ id: 't1', pickleStepId: 's1' }] } },
    { testCaseStarted: { id: 'r1', testCaseId: 'c1' } },
    { attachment: { testCaseStartedId: 'r1', testStepId: 't1', mediaType: 'text/plain', body: evil } },
  ].map((x) => JSON.stringify(x)).join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-junit-'));
  writeFileSync(join(dir, 'messages.ndjson'), nd);
  // the formatter's own failure message may quote the same output
  writeFileSync(join(dir, 'junit.xml'), `<?xml version="1.0"?>\n<testsuite name="t">\n  <testcase classname="f" name="evil" time="1">\n    <failure message="x"><![CDATA[${evil}]]></failure>\n  </testcase>\n</testsuite>\n`);
  addEvidenceToJunit(dir);
  const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
  assert.doesNotMatch(xml, /[\x00-\x08\x0B\x0C\x0E-\x1F]/, 'no character XML 1.0 forbids');
  assert.doesNotMatch(xml, /[\uD800-\uDFFF]/, 'no lone surrogate');
  assert.match(xml, /bell\\x07 nul\\x00 esc\\x1b\[31m red \uFFFD\uFFFDA lone\\ud800x/);
  assert.equal((xml.match(/bell\\x07/g) ?? []).length, 2, 'in the failure and in the evidence');
});
