// The phrase catalogue: both languages, same parameters, examples that match their own phrase and no
// other (no ambiguity), and docs/steps.md generated from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CucumberExpression, ParameterType, ParameterTypeRegistry } from '@cucumber/cucumber-expressions';
import { CATALOGUE, jaExpression, paramsOf, type Phrase } from '../../../steps/catalogue.js';
import { PARAM_REGEXPS } from '../../../steps/support/regexps.js';
import { stepsDoc } from '../../../scripts/gen-steps-doc.js';

const registry = new ParameterTypeRegistry();
for (const [name, re] of Object.entries(PARAM_REGEXPS)) {
  registry.defineParameterType(new ParameterType(name, new RegExp(re), null, (s: string) => s, false, false));
}
const entries = Object.entries(CATALOGUE) as Array<[string, Phrase]>;
const KEYWORDS = /^(Given|When|Then|And|But|前提|もし|ならば|かつ|しかし) ?/;
const exprs = entries.flatMap(([id, p]) => [
  { id, lang: 'en', expr: new CucumberExpression(p.en, registry), example: p.example.en.replace(KEYWORDS, '') },
  { id, lang: 'ja', expr: new CucumberExpression(jaExpression(p.ja), registry), example: p.example.ja.replace(KEYWORDS, '') },
]);

test('every step has both languages with the same parameter types (Japanese order declared when it differs)', () => {
  for (const [id, p] of entries) {
    const en = paramsOf(p.en);
    const ja = paramsOf(p.ja);
    const order = p.jaOrder ?? en.map((_, i) => i);
    assert.deepEqual(order.map((i) => ja[i]), en, `${id}: ${p.en} / ${p.ja}`);
    assert.equal([...order].sort().join(), en.map((_, i) => i).join(), `${id}: jaOrder is a permutation`);
    for (const name of en) assert.ok(name === 'int' || name in PARAM_REGEXPS, `${id}: unknown parameter type {${name}}`);
  }
});

test('each example matches its own phrase and no other phrase (no ambiguity)', () => {
  for (const e of exprs) {
    const matching = exprs.filter((x) => x.expr.match(e.example)).map((x) => `${x.id}/${x.lang}`);
    assert.deepEqual(matching, [`${e.id}/${e.lang}`], `"${e.example}"`);
  }
});

test('Japanese phrases accept text with or without spaces around names and numbers', () => {
  const within = exprs.find((x) => x.id === 'canReachWithin' && x.lang === 'ja')!.expr;
  for (const t of ['client から 10.0.0.1 に 3 秒以内に到達できる', 'clientから10.0.0.1に3秒以内に到達できる', '「client」から"10.0.0.1"に500 ミリ秒以内に到達できる']) {
    assert.ok(within.match(t), t);
  }
  const port = exprs.find((x) => x.id === 'canConnect' && x.lang === 'ja')!.expr;
  assert.deepEqual(port.match('clientからdnsの80番ポートに接続できる')!.map((a) => a.getValue(null)), ['client', 'dns', 80]);
});

test('Japanese phrases accept what an IME types: full-width spaces, digits and colons', () => {
  const find = (id: string) => exprs.find((x) => x.id === id && x.lang === 'ja')!.expr;
  assert.deepEqual(find('labUp').match('ラボ　"home-nat"　が起動している')!.map((a) => a.getValue(null)), ['"home-nat"']);
  assert.ok(find('canReachWithin').match('client　から　dns　に　３　秒以内に到達できる'));
  assert.ok(find('canReachWithin').match('clientからdnsに１．５秒以内に到達できる'));
  for (const t of ['到達性は次の通りである:', '到達性は次の通りである：', '到達性は次の通りである']) assert.ok(find('reachability').match(t), t);
  assert.equal(find('labUp').match('ラボ　"home-nat"　が起動していない'), null, 'still the whole phrase');
});

test('docs/steps.md is generated from the catalogue (run `npm run steps-doc`)', () => {
  assert.equal(readFileSync('docs/steps.md', 'utf8'), stepsDoc());
});
