// Puts the evidence of each scenario (text attachments: probe results, outage figures, DNS answers)
// into the JUnit report, whose formatter keeps only step status lines. Reads the run's message stream
// (reports/messages.ndjson) and adds each scenario's text attachments to its <system-out>.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

interface Env {
  pickle?: { id: string; name: string; steps: Array<{ id: string; text: string }> };
  testCase?: { id: string; pickleId: string; testSteps: Array<{ id: string; pickleStepId?: string }> };
  testCaseStarted?: { id: string; testCaseId: string };
  attachment?: { testCaseStartedId?: string; testStepId?: string; mediaType: string; body: string; contentEncoding?: string };
}

const xmlText = (s: string): string => s.replace(/\]\]>/g, ']]]]><![CDATA[>');
/** Characters XML 1.0 does not allow anywhere (control bytes from command output, stray surrogates). */
const NOT_XML = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Shown as `\xNN` / `\uNNNN` text: the report stays valid XML whatever bytes a command printed. */
export const xmlSafe = (s: string): string => s.replace(NOT_XML, (c) => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
});
const attr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Evidence text per executed scenario, in execution order: [scenario name, text]. */
export function evidenceByScenario(ndjson: string): Array<[string, string]> {
  const pickles = new Map<string, NonNullable<Env['pickle']>>();
  const cases = new Map<string, NonNullable<Env['testCase']>>();
  const started: Array<{ id: string; testCaseId: string }> = [];
  const texts = new Map<string, string[]>();
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as Env;
    if (e.pickle) pickles.set(e.pickle.id, e.pickle);
    else if (e.testCase) cases.set(e.testCase.id, e.testCase);
    else if (e.testCaseStarted) started.push(e.testCaseStarted);
    else if (e.attachment?.testCaseStartedId && e.attachment.mediaType === 'text/plain') {
      const a = e.attachment;
      const startedId = e.attachment.testCaseStartedId;
      const body = a.contentEncoding === 'BASE64' ? Buffer.from(a.body, 'base64').toString('utf8') : a.body;
      const tc = cases.get(started.find((s) => s.id === startedId)?.testCaseId ?? '');
      const pickle = pickles.get(tc?.pickleId ?? '');
      const stepText = pickle?.steps.find((s) => s.id === tc?.testSteps.find((t) => t.id === a.testStepId)?.pickleStepId)?.text;
      const list = texts.get(startedId) ?? [];
      list.push(stepText ? `[${stepText}]\n${body}` : body);
      texts.set(startedId, list);
    }
  }
  return started.map((s) => {
    const pickle = pickles.get(cases.get(s.testCaseId)?.pickleId ?? '');
    return [pickle?.name ?? '', (texts.get(s.id) ?? []).join('\n\n')];
  });
}

/** Adds the evidence to reports/junit.xml (in place); a no-op when either file is missing. */
export function addEvidenceToJunit(reportsDir: string): void {
  const junitPath = join(reportsDir, 'junit.xml');
  const msgPath = join(reportsDir, 'messages.ndjson');
  if (!existsSync(junitPath)) return;
  if (!existsSync(msgPath)) { writeFileSync(junitPath, xmlSafe(readFileSync(junitPath, 'utf8'))); return; }
  const queue = evidenceByScenario(readFileSync(msgPath, 'utf8'));
  let xml = readFileSync(junitPath, 'utf8');
  xml = xml.replace(/<testcase\b[^>]*\bname="([^"]*)"[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g, (whole: string, name: string) => {
    const i = queue.findIndex(([n]) => attr(n) === name);
    if (i < 0) return whole;
    const [, text] = queue.splice(i, 1)[0] as [string, string];
    if (!text) return whole;
    const block = `\n\n--- evidence ---\n${xmlText(text)}`;
    if (whole.endsWith('/>')) return `${whole.slice(0, -2)}>\n    <system-out><![CDATA[${block.trimStart()}]]></system-out>\n  </testcase>`;
    if (whole.includes(']]></system-out>')) return whole.replace(']]></system-out>', `${block}]]></system-out>`);
    return whole.replace('</testcase>', `  <system-out><![CDATA[${block.trimStart()}]]></system-out>\n  </testcase>`);
  });
  // Also what the formatter wrote itself (failure messages quoting command output).
  writeFileSync(junitPath, xmlSafe(xml));
}
