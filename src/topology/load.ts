// Owns topology file → resolved `Lab`: YAML with positions → zod schema → validate.ts → resolve.ts; every
// mistake becomes `file:line:col: <object>: <problem>`, all thrown at once as UserErrors, never a partial Lab.
// Must not touch anything but the topology file, file-source existence checks and responder fixtures
// (read and checked here, errors pointing into the fixture): no Docker, OVS, network.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument,
  type Document, type ParsedNode,
} from 'yaml';
import type { z } from 'zod';
import { UserError, UserErrors, knownList } from '../util/errors.js';
import { visit } from 'yaml';
import { TopologySchema } from './schema.js';
import { validateTopology, type Problem, type YamlPath } from './validate.js';
import { defaultLinkName, resolveTopology, type KeyOrder } from './resolve.js';
import type { Lab } from './types.js';
import { responderAddresses } from './kinds.js';
import { compileFixture } from '../dns/fixture.mjs';

/** Reads, validates and resolves a topology file. `file` is shown in messages as given (keep it relative). */
export async function loadTopology(file: string): Promise<Lab> {
  let text: string;
  try {
    text = readText(await readFile(file), file);
  } catch (e) {
    if (e instanceof UserErrors || e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new UserError(`cannot read topology ${file} (${reason})`, code === 'ENOENT' ? 'topologies live in topologies/<name>.yaml' : undefined);
  }
  return parseTopology(text, file, path.dirname(path.resolve(file)));
}

/** A topology, inventory or fixture is at most this big: anything larger is not a lab description. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** The file's bytes as text: refused when too big or not UTF-8, naming where the first bad byte is. */
export function readText(buf: Buffer, file: string): string {
  if (buf.length > MAX_FILE_BYTES) {
    throw new UserErrors([`${file}:1:1: the file is ${buf.length} bytes; a topology is at most ${MAX_FILE_BYTES} bytes (1 MiB); hint: is this the right file?`]);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    const off = Math.max(0, firstBadUtf8(buf));
    const before = buf.subarray(0, off).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    throw new UserErrors([`${file}:${line}:${col}: the file is not UTF-8 text (byte 0x${(buf[off] ?? 0).toString(16).padStart(2, '0')}); hint: save it as UTF-8`]);
  }
}

/** Offset of the first byte that does not start or continue a UTF-8 sequence (-1: none found). */
function firstBadUtf8(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) === 0xe0 ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Validates and resolves topology text. `fileName` is used in messages and for Lab.file (made absolute);
 * `dir` is where relative `files.src` paths start.
 */
export function parseTopology(text: string, fileName: string, dir: string): Lab {
  const { doc, lines, raw } = parseYaml(text, fileName);
  const where = new Positions(doc, lines, fileName);
  const absDir = path.resolve(dir);

  const parsed = TopologySchema.safeParse(raw);
  if (!parsed.success) throw where.errors(schemaProblems(parsed.error.issues, raw));

  const problems = validateTopology(parsed.data, { dir: absDir, displayDir: path.dirname(fileName), exists: existsSync, inspect: inspectPath, projectRoots: projectRoots(absDir),
    sysctlExists: (p) => existsSync(path.join('/proc/sys', p)) });
  if (problems.length > 0) throw where.errors(problems);

  const lab = resolveTopology(parsed.data, {
    file: fileName === '' ? '' : path.resolve(fileName),
    dir: absDir,
    exists: existsSync,
    keyOrder: where.keyOrder,
  });
  if (parsed.data.profiles && Object.keys(parsed.data.profiles).length) lab.profiles = Object.keys(parsed.data.profiles);
  const fixtureErrors = lab.nodes.flatMap((n) => (n.responder === undefined ? [] : responderFixtureErrors(n.responder, n.name, responderAddresses(n))));
  if (fixtureErrors.length > 0) throw new UserErrors(fixtureErrors);
  return lab;
}

/** A responder fixture's problems as `fixture:line:col: …` (the path shown relative to the working directory). */
function responderFixtureErrors(abs: string, node: string, addresses: string[]): string[] {
  const rel = path.relative(process.cwd(), abs);
  const shown = rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    return [`${shown}:1:1: node ${node}: cannot read responder fixture (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`];
  }
  return compileFixture(text, shown, { addresses, node }).errors.map((e) => e.replace(/^([^ ]+: )/, `$1node ${node}, `));
}

// ---- YAML ------------------------------------------------------------------------------------------

export function parseYaml(text: string, fileName: string, what = 'lab'): { doc: Document.Parsed; lines: LineCounter; raw: unknown } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    // The first error only: what the parser says after it (a tab, a second document) is follow-on noise.
    const e = doc.errors[0]!;
    throw new UserErrors([`${at(e.pos[0])}: YAML syntax error: ${yamlMessage(e.code, e.message, text, e.pos[0])}`]);
  }
  if (doc.contents === null) {
    throw new UserErrors([what === 'lab' ? `${fileName}:1:1: lab: the file is empty; hint: a lab needs at least name: and nodes:` : `${fileName}:1:1: ${what}: the file is empty`]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // An alias bomb (aliases of aliases expanding to millions of nodes): point at the first alias.
    let first: number | undefined;
    visit(doc, { Alias(_k, node) { first = node.range?.[0]; return visit.BREAK; } });
    if (/alias/i.test((e as Error).message) && first !== undefined) {
      throw new UserErrors([`${at(first)}: YAML aliases here expand too far (more than 1000 nodes: an alias bomb); hint: write the values out instead of nesting aliases`]);
    }
    throw new UserErrors([`${at(doc.contents.range[0])}: YAML error: ${(e as Error).message}`]);
  }
  return { doc, lines: lineCounter, raw };
}

function yamlMessage(code: string, message: string, text: string, offset: number): string {
  if (code === 'MULTIPLE_DOCS') return 'a second YAML document starts here (---); a file holds one lab; hint: remove it, or put the second lab in a file of its own';
  if (code === 'TAB_AS_INDENT') return 'a tab indents this line; YAML indents with spaces only; hint: replace the tabs with spaces';
  if (code === 'DUPLICATE_KEY') {
    const key = /^("[^"\n]*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(text.slice(offset))?.[1];
    if (key !== undefined) return `duplicate key ${key.startsWith("'") || key.startsWith('"') ? key : `'${key}'`} (a key may appear only once in a map)`;
  }
  return message;
}

/** Maps YAML paths to `file:line:col` and formats problems. */
export class Positions {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly fileName: string,
  ) {}

  /** Offset of the node at `p` (or of its key), falling back to the nearest ancestor that exists. */
  offset(p: YamlPath, key = false): number {
    let node: unknown = this.doc.contents;
    let best = (node as ParsedNode).range[0];
    for (let i = 0; i < p.length; i++) {
      const found = this.child(node, p[i]!);
      if (!found) break;
      const last = i === p.length - 1;
      if (last && key && found.key) return found.key.range[0];
      const value = found.value;
      if (!value || (isScalar(value) && value.value === null && found.key)) {
        // `eth1:` with nothing after it: point at the key
        best = found.key ? found.key.range[0] : best;
        if (!value) break;
        node = value;
        continue;
      }
      best = value.range[0];
      node = value;
    }
    return best;
  }

  private child(node: unknown, seg: string | number): { key?: ParsedNode; value?: ParsedNode } | undefined {
    let n = node;
    if (isAlias(n)) n = n.resolve(this.doc);
    if (isMap(n)) {
      for (const pair of n.items) {
        if (keyText(pair.key) === String(seg)) {
          return { key: pair.key as ParsedNode, value: resolveAlias(pair.value, this.doc) };
        }
      }
      // YAML merge keys (`<<: *defaults`): look in the merged maps
      for (const pair of n.items) {
        if (keyText(pair.key) !== '<<') continue;
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const src of sources) {
          const found = this.child(src, seg);
          if (found) return found;
        }
      }
      return undefined;
    }
    if (isSeq(n) && typeof seg === 'number') {
      const item = n.items[seg];
      return item === undefined ? undefined : { value: resolveAlias(item, this.doc) };
    }
    return undefined;
  }

  at(p: YamlPath, key = false): string {
    const { line, col } = this.lines.linePos(this.offset(p, key));
    return `${this.fileName}:${line}:${col}`;
  }

  errors(problems: Problem[]): UserErrors {
    const located = problems.map((pr, i) => {
      const off = this.offset(pr.path, pr.key ?? false);
      return { off, i, text: `${this.at(pr.path, pr.key ?? false)}: ${pr.object}: ${pr.message}` };
    });
    located.sort((a, b) => a.off - b.off || a.i - b.i);
    return new UserErrors(located.map((l) => l.text));
  }

  /** Key order of maps as written, so interfaces keep file order even when named like numbers. */
  readonly keyOrder: KeyOrder = (p) => {
    let node: unknown = this.doc.contents;
    for (const seg of p) {
      const found = this.child(node, seg);
      if (!found?.value) return undefined;
      node = found.value;
    }
    if (!isMap(node)) return undefined;
    return node.items.map((pair) => keyText(pair.key)).filter((k) => k !== '<<');
  };
}

function keyText(k: unknown): string {
  if (isScalar(k)) return typeof k.value === 'symbol' ? (k.source ?? '<<') : String(k.value); // merge key: Symbol(<<)
  return String(k);
}

function resolveAlias(v: unknown, doc: Document.Parsed): ParsedNode | undefined {
  if (v === null || v === undefined) return undefined;
  if (isAlias(v)) return (v.resolve(doc) as ParsedNode | undefined) ?? undefined;
  if (isPair(v)) return undefined;
  return v as ParsedNode;
}

// ---- schema issues → problems ----------------------------------------------------------------------

type Issue = z.core.$ZodIssue;

/** How a schema's problems are named: the object a path belongs to, and the schema for "known keys". */
export interface SchemaShape {
  schema: unknown;
  describe: (p: YamlPath, raw: unknown) => { object: string; rest: YamlPath };
}

const TOPOLOGY_SHAPE: SchemaShape = { schema: TopologySchema, describe: (p, raw) => describe(p, raw) };

export function schemaProblems(issues: readonly Issue[], raw: unknown, shape: SchemaShape = TOPOLOGY_SHAPE): Problem[] {
  // A value of the wrong type also fails its checks (e.g. length); report only the type.
  const wrongType = new Set(issues.filter((i) => i.code === 'invalid_type').map((i) => JSON.stringify(i.path)));
  const out: Problem[] = [];
  for (const iss of issues) {
    if (iss.code !== 'invalid_type' && wrongType.has(JSON.stringify(iss.path))) continue;
    issueProblems(iss, [], raw, out, shape);
  }
  return out;
}

function issueProblems(iss: Issue, prefix: YamlPath, raw: unknown, out: Problem[], shape: SchemaShape): void {
  const p: YamlPath = [...prefix, ...(iss.path as YamlPath)];
  const { object, rest } = shape.describe(p, raw);
  const field = fieldText(rest);
  const value = valueAt(raw, p);
  switch (iss.code) {
    case 'unrecognized_keys':
      for (const k of iss.keys) {
        out.push({ path: [...p, k], key: true, object, message: `unknown key '${k}'; known: ${knownList(knownKeys(p, shape.schema))}` });
      }
      return;
    case 'invalid_key': {
      const inner = iss.issues[0];
      out.push({ path: p, key: true, object, message: inner?.message ?? 'invalid key' });
      return;
    }
    case 'invalid_type': {
      const parent = valueAt(raw, p.slice(0, -1));
      const last = p[p.length - 1];
      if (value === undefined && typeof last === 'string' && isRecord(parent) && !Object.hasOwn(parent, last)) {
        const up = shape.describe(p.slice(0, -1), raw);
        out.push({ path: p.slice(0, -1), object: up.object, message: `missing required key '${last}'` });
        return;
      }
      const what = `${expectedText(iss.expected)} (got ${show(value)})`;
      out.push({ path: p, object, message: field ? `${field} must be ${what}` : `must be ${what}` });
      return;
    }
    case 'invalid_value': {
      const known = iss.values.map(String);
      const name = field || 'value';
      out.push({ path: p, object, message: value === undefined
        ? `${name} is missing; known: ${knownList(known)}`
        : `unknown ${name} ${show(value)}; known: ${knownList(known)}` });
      return;
    }
    case 'invalid_union': {
      const rootType = (branch: readonly Issue[]) => branch.find((b) => b.path.length === 0 && b.code === 'invalid_type');
      const viable = iss.errors.find((branch) => !rootType(branch));
      if (viable) {
        for (const b of viable) issueProblems(b, p, raw, out, shape);
        return;
      }
      const expected = iss.errors
        .map((b) => rootType(b))
        .map((b) => (b && b.code === 'invalid_type' ? b.expected : undefined))
        .filter((e): e is NonNullable<typeof e> => e !== undefined && e !== 'null');
      const what = `${orList([...new Set(expected.map(expectedText))])} (got ${show(value)})`;
      out.push({ path: p, object, message: field ? `${field} must be ${what}` : `must be ${what}` });
      return;
    }
    default: {
      // Every other check in schema.ts carries its own message naming the field and value.
      const generic = /^(Invalid|Too |Expected)/.test(iss.message);
      out.push({ path: p, object, message: generic && field ? `${field}: ${iss.message}` : iss.message });
    }
  }
}

/** The object a YAML path belongs to ("node client, interface eth1") and the path inside it. */
function describe(p: YamlPath, raw: unknown): { object: string; rest: YamlPath } {
  const [top, a, b, c] = p;
  if (top === 'nodes' && a !== undefined) {
    const node = `node ${a}`;
    if (b === 'interfaces' && c !== undefined) return { object: `${node}, interface ${c}`, rest: p.slice(4) };
    if (b === 'routes' && typeof c === 'number') return { object: `${node}, route #${c + 1}`, rest: p.slice(4) };
    if (b === 'files' && typeof c === 'number') return { object: `${node}, file #${c + 1}`, rest: p.slice(4) };
    return { object: node, rest: p.slice(2) };
  }
  if (top === 'switches' && a !== undefined) {
    if (b === 'ports' && c !== undefined) return { object: `switch ${a}, port ${c}`, rest: p.slice(4) };
    return { object: `switch ${a}`, rest: p.slice(2) };
  }
  if (top === 'links' && typeof a === 'number') return { object: linkLabel(raw, a), rest: p.slice(2) };
  if (top === 'management') return { object: 'management', rest: p.slice(1) };
  return { object: 'lab', rest: p };
}

/** `link <name>` when the link's name (given or defaulted) can be told, else `link #<n>`. */
function linkLabel(raw: unknown, i: number): string {
  const l = valueAt(raw, ['links', i]);
  if (isRecord(l)) {
    if (typeof l.name === 'string' && l.name !== '') return `link ${l.name}`;
    const eps = l.endpoints;
    if (Array.isArray(eps) && eps.length >= 1 && eps.length <= 2 && eps.every((e) => typeof e === 'string' && e !== '')) {
      const remote = typeof l.remote === 'string' ? l.remote : undefined;
      return `link ${defaultLinkName({ endpoints: eps as string[], remote })}`;
    }
  }
  return `link #${i + 1}`;
}

function fieldText(rest: YamlPath): string {
  let s = '';
  for (const seg of rest) s += typeof seg === 'number' ? ` #${seg + 1}` : s ? `.${seg}` : seg;
  return s;
}

export function valueAt(raw: unknown, p: YamlPath): unknown {
  let v = raw;
  for (const seg of p) {
    if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
    else if (isRecord(v) && Object.hasOwn(v, String(seg))) v = v[String(seg)];
    else return undefined;
  }
  return v;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

function expectedText(e: string): string {
  switch (e) {
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'int': return 'a whole number';
    case 'boolean': return 'true or false';
    case 'object': case 'record': case 'map': return 'a map';
    case 'array': case 'tuple': case 'set': return 'a list';
    case 'null': return 'empty';
    default: return e;
  }
}

function orList(items: string[]): string {
  const xs = items.map((x) => (x === 'true or false' && items.length > 1 ? 'true/false' : x));
  return xs.length <= 1 ? (xs[0] ?? 'valid') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

// ---- known keys, from the schema itself ------------------------------------------------------------

interface SchemaLike { _zod: { def: { type: string; [k: string]: unknown } } }

function unwrap(s: SchemaLike, want: 'map' | 'list'): SchemaLike {
  for (;;) {
    const d = s._zod.def;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType as SchemaLike;
    else if (d.type === 'pipe') s = d.in as SchemaLike;
    else if (d.type === 'union') {
      const opts = (d.options as SchemaLike[]).map((o) => unwrap(o, want));
      const kinds = want === 'list' ? ['array', 'tuple'] : ['object', 'record'];
      const pick = opts.find((o) => kinds.includes(o._zod.def.type));
      if (!pick) return s;
      s = pick;
    } else return s;
  }
}

/** Keys allowed in the object at `p` (for "unknown key …; known: …"). */
function knownKeys(p: YamlPath, schema: unknown): string[] {
  let s: SchemaLike = schema as SchemaLike;
  for (const seg of p) {
    s = unwrap(s, typeof seg === 'number' ? 'list' : 'map');
    const d = s._zod.def;
    if (d.type === 'object') s = (d.shape as Record<string, SchemaLike>)[String(seg)] ?? s;
    else if (d.type === 'record') s = d.valueType as SchemaLike;
    else if (d.type === 'array') s = d.element as SchemaLike;
    else return [];
  }
  s = unwrap(s, 'map');
  const d = s._zod.def;
  return d.type === 'object' ? Object.keys(d.shape as Record<string, unknown>) : [];
}


/** A path's real location and kind (symlinks followed), for the files-confinement rule of validate.ts. */
function inspectPath(abs: string): { real: string; kind: 'file' | 'dir' | 'socket' | 'device' | 'other' } | undefined {
  try {
    const real = realpathSync(abs);
    const st = statSync(real);
    const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSocket() ? 'socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'device' : 'other';
    return { real, kind };
  } catch { return undefined; }
}

/** Where a topology's files may come from: the git repository holding it, else its folder and the one above. */
export function projectRoots(absDir: string): string[] {
  const real = (p: string): string => { try { return realpathSync(p); } catch { return p; } };
  for (let d = absDir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return [real(d)];
    if (path.dirname(d) === d) break;
  }
  return [...new Set([real(absDir), real(path.dirname(absDir))])];
}
