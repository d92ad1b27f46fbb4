// Owns the unified diff drivers return from compare() and the snapshot check reports: line-based, LCS
// after trimming the common head and tail, hunks with 3 lines of context (the `diff -u` format).
// Pure functions; must not know about any device or config syntax.

/** Unified diff of two texts ('' when their lines are equal). */
export function unifiedDiff(a: string, b: string, o: { from?: string; to?: string; context?: number } = {}): string {
  const A = splitLines(a);
  const B = splitLines(b);
  const ops = diffLines(A, B);
  if (ops.every((op) => op.t === '=')) return '';
  const ctx = o.context ?? 3;
  const out = [`--- ${o.from ?? 'running'}`, `+++ ${o.to ?? 'candidate'}`];
  // Group changes into hunks separated by more than 2*ctx unchanged lines.
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]!.t === '=') i++;
    if (i >= ops.length) break;
    let start = Math.max(0, i - ctx);
    let end = i;
    for (;;) {
      while (end < ops.length && ops[end]!.t !== '=') end++;
      let eq = end;
      while (eq < ops.length && ops[eq]!.t === '=') eq++;
      if (eq < ops.length && eq - end <= 2 * ctx) { end = eq; continue; }
      end = Math.min(ops.length, end + ctx);
      break;
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0]!.a;
    const bStart = hunk[0]!.b;
    const aLen = hunk.filter((h) => h.t !== '+').length;
    const bLen = hunk.filter((h) => h.t !== '-').length;
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const h of hunk) out.push(`${h.t === '=' ? ' ' : h.t}${h.line}`);
    i = end;
    start = end;
  }
  return `${out.join('\n')}\n`;
}

function range(start: number, len: number): string {
  // diff -u: 1-based start; an empty range names the line before it.
  const s = len === 0 ? start : start + 1;
  return len === 1 ? `${s}` : `${s},${len}`;
}

export function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

interface Op { t: '=' | '-' | '+'; line: string; a: number; b: number; }  // a/b: 0-based index before this op

/** Edit script from A to B (longest common subsequence). */
export function diffLines(A: string[], B: string[]): Op[] {
  let head = 0;
  while (head < A.length && head < B.length && A[head] === B[head]) head++;
  let tail = 0;
  while (tail < A.length - head && tail < B.length - head && A[A.length - 1 - tail] === B[B.length - 1 - tail]) tail++;
  const a = A.slice(head, A.length - tail);
  const b = B.slice(head, B.length - tail);
  const n = a.length;
  const m = b.length;
  if (n * m > 25_000_000) throw new Error(`diff too large (${n} × ${m} changed lines)`);
  // lcs[i][j] = LCS length of a[i..] and b[j..]
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const ops: Op[] = [];
  for (let k = 0; k < head; k++) ops.push({ t: '=', line: A[k]!, a: k, b: k });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { ops.push({ t: '=', line: a[i]!, a: head + i, b: head + j }); i++; j++; }
    else if (j < m && (i >= n || lcs[i * w + j + 1]! >= lcs[(i + 1) * w + j]!)) { ops.push({ t: '+', line: b[j]!, a: head + i, b: head + j }); j++; }
    else { ops.push({ t: '-', line: a[i]!, a: head + i, b: head + j }); i++; }
  }
  for (let k = 0; k < tail; k++) ops.push({ t: '=', line: A[A.length - tail + k]!, a: A.length - tail + k, b: B.length - tail + k });
  // Deletions before insertions inside a change block (diff -u order).
  for (let s = 0; s < ops.length;) {
    if (ops[s]!.t === '=') { s++; continue; }
    let e = s;
    while (e < ops.length && ops[e]!.t !== '=') e++;
    const block = ops.slice(s, e);
    const sorted = [...block.filter((o) => o.t === '-'), ...block.filter((o) => o.t === '+')];
    ops.splice(s, e - s, ...sorted);
    s = e;
  }
  let ai = 0;
  let bi = 0;
  for (const op of ops) {
    op.a = ai;
    op.b = bi;
    if (op.t !== '+') ai++;
    if (op.t !== '-') bi++;
  }
  return ops;
}
