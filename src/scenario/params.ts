// Owns parsing the values users write in scenarios, in English or Japanese: names (bare, "quoted",
// 「quoted」), durations (500 ms, 3 s, 500 ミリ秒, 3 秒), percentages, rates, reachability marks.
// Pure: no lab, no Cucumber. Unknown forms are errors that say what is accepted.
import { UserError } from '../util/errors.js';

/** Strips "…", '…' or 「…」 around a value and trims spaces (Japanese writers differ on spaces). */
export function unquote(s: string): string {
  const t = s.trim();
  const m = /^"(.*)"$/s.exec(t) ?? /^'(.*)'$/s.exec(t) ?? /^「(.*)」$/s.exec(t) ?? /^『(.*)』$/s.exec(t);
  return (m ? (m[1] as string) : t).trim();
}

/** A number as written: full-width digits and signs (３秒, １０％, what a Japanese IME types) read as ASCII. */
function numeric(text: string): string {
  return unquote(text).normalize('NFKC');
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1, msec: 1, millisecond: 1, milliseconds: 1, 'ミリ秒': 1,
  s: 1000, sec: 1000, second: 1000, seconds: 1000, '秒': 1000,
  m: 60000, min: 60000, minute: 60000, minutes: 60000, '分': 60000,
};

/** "500 ms" → 500; "3 秒" → 3000. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+|ミリ秒|秒|分)\s*$/.exec(numeric(text));
  const unit = m ? DURATION_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UserError(`cannot read duration "${text.trim()}"`, 'write e.g. 500 ms, 3 s, 500 ミリ秒, 3 秒');
  }
  return Math.round(Number(m[1]) * unit);
}

/** "10%", "10 %", "10 パーセント" → 10; must be in (0, 100]. */
export function parsePercent(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:%|％|percent|パーセント)\s*$/.exec(numeric(text));
  const v = m ? Number(m[1]) : NaN;
  if (!m || !(v > 0 && v <= 100)) throw new UserError(`cannot read percentage "${text.trim()}"`, 'write e.g. 10% or 10 パーセント, more than 0 and at most 100');
  return v;
}

const RATE_UNITS: Record<string, number> = {
  bit: 1, bps: 1, kbit: 1e3, kbps: 1e3, mbit: 1e6, mbps: 1e6, gbit: 1e9, gbps: 1e9,
};

/** "1 Mbit/s", "1Mbps", "500 kbit/s" → bits per second. */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(bit\/s|bits\/s|bps|bit)\s*$/i.exec(numeric(text));
  if (!m) throw new UserError(`cannot read rate "${text.trim()}"`, 'write e.g. 1 Mbit/s, 500 kbit/s, 10Mbps');
  const unit = RATE_UNITS[`${(m[2] as string).toLowerCase()}bit`] as number;
  const v = Number(m[1]) * unit;
  if (!(v >= 8000)) throw new UserError(`cannot limit a link to ${text.trim()} (below 8 kbit/s)`, 'use at least 8 kbit/s');
  return v;
}

/** Matrix cells: ok/ng, ○/×, ✓/✗ (and yes/no, 可/不可); '-', '—' or empty = not checked. */
export function parseMark(text: string): boolean | undefined {
  const t = unquote(text).toLowerCase();
  if (['', '-', '—', '－', 'ー'].includes(t)) return undefined;
  if (['ok', '○', '◯', '✓', '✔', 'yes', 'y', '可', 'true'].includes(t)) return true;
  if (['ng', '×', '✗', '✘', 'x', 'no', 'n', '不可', 'false'].includes(t)) return false;
  throw new UserError(`cannot read reachability mark "${text}"`, 'use ok/ng, ○/×, or ✓/✗ (- to skip a cell)');
}

/** "0x0000", "0x1234", "4660" → a 16-bit number. */
export function parseHex(text: string): number {
  const t = numeric(text);
  const v = /^0[xX][0-9A-Fa-f]{1,4}$/.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(v >= 0 && v <= 0xffff)) throw new UserError(`cannot read checksum "${t}"`, 'write a 16-bit value, e.g. 0x0000 or 0x1234');
  return v;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s` : `${ms} ms`;
}
