// Owns FRR configuration text: cleaning `show running-config` output into a config file, the normal form
// compared by compare() and the rollback check, merging lines into a running config by context (what
// `merge` means for FRR), and reading frr-reload.py's error output. Pure functions; no device access.

/** `show running-config` output (or a user's file) → config file text: the header before `frr version` dropped. */
export function cleanFrrConfig(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let start = lines.findIndex((l) => /^frr version /.test(l));
  if (start < 0) {
    const cur = lines.findIndex((l) => /^Current configuration:/.test(l));
    start = cur >= 0 ? cur + 1 : 0;
  }
  const body = lines.slice(start).map((l) => l.trimEnd());
  while (body.length && body[body.length - 1] === '') body.pop();
  return `${body.join('\n')}\n`;
}

/**
 * The form two configs are compared in: no header, no `frr version` (it changes with upgrades, not with
 * config), no separators (`!`), comments, blank lines or `end`.
 */
export function normalFrrConfig(text: string): string {
  const out = cleanFrrConfig(text).split('\n')
    .filter((l) => l.trim() !== '' && l.trim() !== '!' && !/^\s*!/.test(l) && l !== 'end' && !/^frr version /.test(l) && !/^\s*#/.test(l));
  return out.length ? `${out.join('\n')}\n` : '';
}

interface Item { line: string; children: Item[]; end?: string; }

const END_RE = /^\s*(exit|exit-address-family|exit-vrf|exit-vni|end)$/;

function indentOf(l: string): number { return l.length - l.trimStart().length; }

function parse(lines: string[]): Item[] {
  const src = lines.filter((l) => l.trim() !== '' && !/^\s*!/.test(l));
  let i = 0;
  const level = (indent: number): Item[] => {
    const items: Item[] = [];
    while (i < src.length) {
      const l = src[i]!;
      const ind = indentOf(l);
      if (ind < indent) break;
      if (END_RE.test(l) && l.trim() !== 'end') {
        // an exit closing the previous item of this level
        const last = items[items.length - 1];
        if (last && !last.end) { last.end = l; i++; continue; }
        if (ind <= indent) break;
      }
      i++;
      const item: Item = { line: l, children: [] };
      if (i < src.length && indentOf(src[i]!) > ind) item.children = level(indentOf(src[i]!));
      items.push(item);
    }
    return items;
  };
  return level(0);
}

function serialize(items: Item[], top = true): string[] {
  const out: string[] = [];
  for (const it of items) {
    out.push(it.line);
    out.push(...serialize(it.children, false));
    if (it.end) out.push(it.end);
    if (top && (it.children.length || it.end)) out.push('!');
  }
  return out;
}

const key = (l: string): string => l.trim();

/** Merges `add` into `base` item lists: same context → children merged; `no X` removes X; new lines appended. */
function mergeItems(base: Item[], add: Item[]): Item[] {
  const out = base.map((b) => ({ ...b, children: [...b.children] }));
  for (const a of add) {
    const k = key(a.line);
    if (k === 'end') continue;
    if (k.startsWith('no ')) {
      const pos = k.slice(3);
      const idx = out.findIndex((b) => key(b.line) === pos);
      if (idx >= 0) { out.splice(idx, 1); continue; }
    } else {
      const neg = out.findIndex((b) => key(b.line) === `no ${k}`);
      if (neg >= 0) out.splice(neg, 1);
    }
    const same = out.find((b) => key(b.line) === k);
    if (same) {
      if (a.children.length) same.children = mergeItems(same.children, a.children);
      if (a.end && !same.end) same.end = a.end;
      continue;
    }
    // new: before a top-level `end`
    const endIdx = out.findIndex((b) => key(b.line) === 'end');
    if (endIdx >= 0) out.splice(endIdx, 0, a); else out.push(a);
  }
  return out;
}

/** Running config + lines (a partial config), merged context by context. */
export function mergeFrrConfig(running: string, lines: string): string {
  const base = parse(cleanFrrConfig(running).split('\n'));
  const add = parse(lines.replace(/\r\n/g, '\n').split('\n'));
  return `${serialize(mergeItems(base, add)).join('\n')}\n`;
}

/** frr-reload.py's complaint about a config it could not parse, in vtysh's words ("line 2: % Unknown command: bogus 1"). */
export function frrReloadError(output: string): string {
  const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
  const m = /vtysh failed to process new configuration:\s*(.*?)(?:\n\d{4}-\d\d-\d\d |\n*$)/s.exec(clean);
  if (m) {
    return m[1]!.replace(/b'(.*?)'/gs, (_, s: string) => s.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\'/g, "'"))
      .split('\n').map((l) => l.trim()).filter(Boolean).join('\n');
  }
  const errs = clean.split('\n').filter((l) => /ERROR|error|Error|%/.test(l)).map((l) => l.replace(/^\d{4}-\d\d-\d\d [\d:,]+\s+/, '').trim());
  return (errs.length ? errs : clean.trim().split('\n').slice(-5)).join('\n');
}
