// Suggests the nearest phrase of the vocabulary for a step no definition matched (a typo, a word
// order of one's own, the other language's phrase): character-bigram similarity against every
// catalogue phrase and example, both languages. Pure; used by the runner after a run.
import { CATALOGUE, type Phrase } from './catalogue.js';

export interface Suggestion { id: string; lang: 'en' | 'ja'; phrase: string; example: string; score: number; }

const JA = /[\u3040-\u30ff\u4e00-\u9fff]/;
/** Quoted values and parameters become one placeholder; in Japanese text every ASCII run (names,
 *  addresses, numbers: the parameters) does too, so the Japanese words decide. */
const norm = (s: string): string => {
  let t = s.normalize('NFKC').toLowerCase().replace(/"[^"]*"|「[^」]*」|'[^']*'/g, 'x').replace(/\{[a-z]+\}/g, 'x');
  if (JA.test(t)) t = t.replace(/[a-z0-9_.:\/-]+/g, 'x');
  return t.replace(/\s+/g, ' ').trim();
};

function bigrams(s: string): Map<string, number> {
  const m = new Map<string, number>();
  const t = norm(s).replace(/ /g, '');
  for (let i = 0; i < t.length - 1; i++) { const g = t.slice(i, i + 2); m.set(g, (m.get(g) ?? 0) + 1); }
  return m;
}

/** Dice coefficient of two texts' character bigrams (0..1). */
export function similarity(a: string, b: string): number {
  const A = bigrams(a);
  const B = bigrams(b);
  let both = 0;
  let total = 0;
  for (const n of A.values()) total += n;
  for (const n of B.values()) total += n;
  for (const [g, n] of A) both += Math.min(n, B.get(g) ?? 0);
  return total ? (2 * both) / total : 0;
}

/** The closest phrase of the vocabulary to `text` (a step without its keyword), or undefined when nothing is close. */
export function nearestPhrase(text: string): Suggestion | undefined {
  let best: Suggestion | undefined;
  const lang: 'en' | 'ja' = JA.test(text) ? 'ja' : 'en';
  for (const [id, p] of Object.entries(CATALOGUE) as [string, Phrase][]) {
    const example = p.example[lang].replace(/^(Given|When|Then|And|But|前提|もし|ならば|かつ|しかし)\s*/, '');
    const score = Math.max(similarity(text, p[lang]), similarity(text, example));
    if (!best || score > best.score) best = { id, lang, phrase: p[lang], example: p.example[lang], score };
  }
  return best && best.score >= 0.45 ? best : undefined;
}
