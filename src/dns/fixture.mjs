// Owns the responder fixture (docs/responder.md): YAML text → validated, normalised plan, with every mistake
// as `file:line:col: <object>: <problem>`; and the pure parts of answering (rule matching, composing a reply)
// that responder.mjs runs for each query. Plain JavaScript so the responder starts fast (no TypeScript loader);
// types in fixture.d.mts. Must not open sockets, read files or resolve names.
import net from 'node:net';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import dnsPacket from 'dns-packet';

/** rcode names accepted in fixtures and overrides, by value (dns-packet's toRcode maps unknown names to NOERROR). */
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
/** Record types a fixture can hold. */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'MX', 'TXT', 'PTR', 'SRV'];
/** Query types a rule can be limited to. */
export const QUERY_TYPES = [...RECORD_TYPES, 'SOA', 'ANY', 'CAA', 'DS', 'DNSKEY', 'HTTPS', 'SVCB', 'NAPTR'];

const TOP_KEYS = ['zone', 'authoritative', 'ttl', 'tcp', 'soa', 'records', 'rules'];
const SOA_KEYS = ['mname', 'rname', 'serial', 'refresh', 'retry', 'expire', 'minimum', 'ttl'];
const RECORD_KEYS = ['name', 'type', 'ttl', 'data'];
const RULE_KEYS = ['name', 'type', 'drop', 'delay_ms', 'truncate', 'rcode', 'reply_from', 'zero_checksum'];
const ACTIONS = ['drop', 'delay_ms', 'truncate', 'rcode', 'reply_from', 'zero_checksum'];
const LABEL_RE = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const MAX_TTL = 2147483647;
export const DEFAULT_TTL = 300;
/** Largest UDP answer sent: the client's EDNS size, at most this (RFC 9715 / DNS flag day 2020). */
export const MAX_UDP = 1232;

const known = (xs) => (xs.length ? xs.join(', ') : '(none)');
const show = (v) => (v === null || v === undefined ? 'nothing' : Array.isArray(v) ? 'a list'
  : typeof v === 'object' ? 'a map' : typeof v === 'string' ? `'${v}'` : String(v));

// ------------------------------------------------------------------------------------------ names

/** A domain name problem ('' = fine): labels of 1..63 letters, digits, '-', '_', at most 253 chars. */
export function nameProblem(fqdn) {
  if (fqdn === '') return '';
  if (fqdn.length > 253) return `is ${fqdn.length} characters long (at most 253)`;
  for (const l of fqdn.split('.')) {
    if (l === '') return 'has an empty label';
    if (l.length > 63) return `has a label of ${l.length} characters (at most 63)`;
    if (!LABEL_RE.test(l)) return `has an invalid label '${l}' (letters, digits, '-', '_')`;
  }
  return '';
}

/**
 * A name as written in a fixture → lower-case absolute name without the trailing dot ('' = the root).
 * `@` is the zone; a trailing dot makes a name absolute; the zone itself or a name ending in `.<zone>` is
 * taken as written; anything else is relative to the zone (`www` → `www.<zone>`).
 */
export function absName(text, zone) {
  const t = String(text).trim().toLowerCase();
  if (t === '@') return zone;
  if (t.endsWith('.')) return t.slice(0, -1);
  if (zone === '' || t === zone || t.endsWith(`.${zone}`)) return t;
  return `${t}.${zone}`;
}

export function inZone(name, zone) {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

// ------------------------------------------------------------------------------------------ positions

function nodeAt(doc, path) {
  let node = doc.contents;
  let best = node;
  let keyNode;
  for (const seg of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
      best = node ?? pair.key;
      if (!node) break;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg];
      best = node;
    } else break;
  }
  return { node: best, keyNode };
}

// ------------------------------------------------------------------------------------------ compile

/**
 * Validates fixture text and compiles it into a plan for responder.mjs.
 * `opts.addresses`: the node's addresses (without prefix); reply_from must be one of them (skipped when absent).
 * `opts.node`: the node's name, for messages.
 */
export function compileFixture(text, fileName, opts = {}) {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset) => { const p = lines.linePos(offset); return `${fileName}:${p.line}:${p.col}`; };
  if (doc.errors.length) {
    return { errors: doc.errors.map((e) => `${at(e.pos[0])}: YAML syntax error: ${e.message.split('\n')[0]}`) };
  }
  const problems = [];
  const add = (path, object, message, key = false) => problems.push({ path, object, message, key });
  const raw = doc.toJS({ maxAliasCount: 1000 });
  const plan = compileRaw(raw, opts, add);
  if (problems.length) {
    const located = problems.map((p, i) => {
      const { node, keyNode } = nodeAt(doc, p.path);
      const target = p.key && keyNode ? keyNode : node;
      const off = target?.range ? target.range[0] : 0;
      return { off, i, text: `${at(off)}: ${p.object}: ${p.message}` };
    });
    located.sort((a, b) => a.off - b.off || a.i - b.i);
    return { errors: located.map((l) => l.text) };
  }
  return { plan, errors: [] };
}

function isRecord(v) { return typeof v === 'object' && v !== null && !Array.isArray(v); }

function unknownKeys(obj, allowed, path, object, add) {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) add([...path, k], object, `unknown key '${k}'; known: ${known(allowed)}`, true);
  }
}

function intIn(v, min, max) { return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max; }

function compileRaw(raw, opts, add) {
  const node = opts.node ? `node ${opts.node}` : 'the node';
  if (!isRecord(raw)) {
    add([], 'fixture', raw === null || raw === undefined ? 'the file is empty; hint: a fixture needs at least zone:' : `must be a map (got ${show(raw)})`);
    return undefined;
  }
  unknownKeys(raw, TOP_KEYS, [], 'fixture', add);
  let zone = '';
  if (raw.zone === undefined) add([], 'fixture', "missing required key 'zone' (the zone this responder serves, e.g. edge.test)");
  else if (typeof raw.zone !== 'string' || raw.zone.trim() === '') add(['zone'], 'fixture', `zone must be a domain name (got ${show(raw.zone)})`);
  else {
    zone = raw.zone.trim().toLowerCase().replace(/\.$/, '');
    const p = nameProblem(zone);
    if (p) add(['zone'], 'fixture', `zone ${raw.zone} ${p}`);
  }
  const bool = (k, dflt) => {
    if (raw[k] === undefined) return dflt;
    if (typeof raw[k] !== 'boolean') { add([k], 'fixture', `${k} must be true or false (got ${show(raw[k])})`); return dflt; }
    return raw[k];
  };
  const authoritative = bool('authoritative', true);
  const tcp = bool('tcp', true);
  let ttl = DEFAULT_TTL;
  if (raw.ttl !== undefined) {
    if (!intIn(raw.ttl, 0, MAX_TTL)) add(['ttl'], 'fixture', `ttl ${show(raw.ttl)} must be a whole number of seconds 0..${MAX_TTL}`);
    else ttl = raw.ttl;
  }

  // SOA: defaults from the zone name
  const soaData = { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 };
  let soaTtl = ttl;
  if (raw.soa !== undefined) {
    if (!isRecord(raw.soa)) add(['soa'], 'soa', `must be a map (got ${show(raw.soa)})`);
    else {
      unknownKeys(raw.soa, SOA_KEYS, ['soa'], 'soa', add);
      for (const k of ['mname', 'rname']) {
        const v = raw.soa[k];
        if (v === undefined) continue;
        if (typeof v !== 'string') { add(['soa', k], 'soa', `${k} must be a domain name (got ${show(v)})`); continue; }
        const n = absName(v, zone);
        const p = nameProblem(n);
        if (p) add(['soa', k], 'soa', `${k} ${v} ${p}`);
        else soaData[k] = n;
      }
      for (const k of ['serial', 'refresh', 'retry', 'expire', 'minimum', 'ttl']) {
        const v = raw.soa[k];
        if (v === undefined) continue;
        const max = k === 'serial' ? 4294967295 : MAX_TTL;
        if (!intIn(v, 0, max)) { add(['soa', k], 'soa', `${k} ${show(v)} must be a whole number 0..${max}`); continue; }
        if (k === 'ttl') soaTtl = v; else soaData[k] = v;
      }
    }
  }
  const soa = { name: zone, type: 'SOA', class: 'IN', ttl: soaTtl, data: soaData };

  // records
  const records = [];
  if (raw.records !== undefined && !Array.isArray(raw.records)) add(['records'], 'fixture', `records must be a list (got ${show(raw.records)})`);
  (Array.isArray(raw.records) ? raw.records : []).forEach((r, i) => {
    const path = ['records', i];
    let object = `record #${i + 1}`;
    if (!isRecord(r)) { add(path, object, `must be a map with name, type and data (got ${show(r)})`); return; }
    if (typeof r.name === 'string' && typeof r.type === 'string') object += ` (${r.name} ${r.type})`;
    unknownKeys(r, RECORD_KEYS, path, object, add);
    for (const k of ['name', 'type', 'data']) if (r[k] === undefined) add(path, object, `missing required key '${k}'`);
    if (r.name === undefined || r.type === undefined || r.data === undefined) return;
    if (typeof r.name !== 'string' && typeof r.name !== 'number') { add([...path, 'name'], object, `name must be a domain name (got ${show(r.name)})`); return; }
    const name = absName(r.name, zone);
    const np = nameProblem(name);
    if (np) { add([...path, 'name'], object, `name ${r.name} ${np}`); return; }
    if (!inZone(name, zone)) { add([...path, 'name'], object, `name ${r.name} is outside zone ${zone}; hint: a fixture serves one zone`); return; }
    const type = typeof r.type === 'string' ? r.type.toUpperCase() : '';
    if (!RECORD_TYPES.includes(type)) { add([...path, 'type'], object, `unknown type ${show(r.type)}; known: ${known(RECORD_TYPES)}`); return; }
    let rttl = ttl;
    if (r.ttl !== undefined) {
      if (!intIn(r.ttl, 0, MAX_TTL)) { add([...path, 'ttl'], object, `ttl ${show(r.ttl)} must be a whole number of seconds 0..${MAX_TTL}`); return; }
      rttl = r.ttl;
    }
    const d = recordData(type, r.data, zone);
    if (typeof d === 'string') { add([...path, 'data'], object, d); return; }
    records.push({ name, type, class: 'IN', ttl: rttl, data: d.data });
  });
  // CNAME and other data (RFC 1034 3.6.2)
  const byName = new Map();
  records.forEach((r, i) => { if (!byName.has(r.name)) byName.set(r.name, []); byName.get(r.name).push(i); });
  for (const [name, idx] of byName) {
    const types = idx.map((i) => records[i].type);
    if (types.includes('CNAME') && types.length > 1) {
      const rawIdx = (Array.isArray(raw.records) ? raw.records : []).findIndex((r) => isRecord(r) && typeof r.name !== 'undefined'
        && absName(r.name, zone) === name && String(r.type).toUpperCase() === 'CNAME');
      add(['records', Math.max(rawIdx, 0)], `record #${rawIdx + 1} (${name} CNAME)`, `a CNAME cannot sit beside other records of ${name} (${types.filter((t) => t !== 'CNAME').join(', ') || 'a second CNAME'})`);
    }
  }

  // rules
  const rules = [];
  if (raw.rules !== undefined && !Array.isArray(raw.rules)) add(['rules'], 'fixture', `rules must be a list (got ${show(raw.rules)})`);
  (Array.isArray(raw.rules) ? raw.rules : []).forEach((r, i) => {
    const path = ['rules', i];
    let object = `rule #${i + 1}`;
    if (!isRecord(r)) { add(path, object, `must be a map with a name and an action (got ${show(r)})`); return; }
    if (typeof r.name === 'string') object += ` (${r.name})`;
    unknownKeys(r, RULE_KEYS, path, object, add);
    if (r.name === undefined) { add(path, object, "missing required key 'name' (exact name, or *.suffix)"); return; }
    if (typeof r.name !== 'string') { add([...path, 'name'], object, `name must be a domain name or *.suffix (got ${show(r.name)})`); return; }
    let name;
    const wild = r.name.startsWith('*.') || r.name === '*';
    const base = r.name === '*' ? '@' : wild ? r.name.slice(2) : r.name;
    const abs = absName(base, zone);
    const np = nameProblem(abs);
    if (base.includes('*')) { add([...path, 'name'], object, `name ${r.name} may use '*' only as its first label (*.suffix)`); return; }
    if (np) { add([...path, 'name'], object, `name ${r.name} ${np}`); return; }
    name = wild ? `*.${abs}` : abs;
    const rule = { name };
    if (r.type !== undefined) {
      const t = typeof r.type === 'string' ? r.type.toUpperCase() : '';
      if (!QUERY_TYPES.includes(t)) add([...path, 'type'], object, `unknown type ${show(r.type)}; known: ${known(QUERY_TYPES)}`);
      else rule.type = t;
    }
    const o = overridesProblems(r, { addresses: opts.addresses, node }, (k, m) => add([...path, k], object, m));
    Object.assign(rule, o);
    const actions = ACTIONS.filter((k) => r[k] !== undefined);
    if (actions.length === 0) add(path, object, `does nothing; give one of: ${ACTIONS.join(', ')}`);
    else if (r.drop === true && actions.length > 1) add([...path, 'drop'], object, `drop excludes other actions (${actions.filter((a) => a !== 'drop').join(', ')})`, true);
    rules.push(rule);
  });

  return { zone, authoritative, tcp, ttl, soa, records, rules };
}

/**
 * Checks behaviour fields (fixture snake_case or control camelCase) and returns them in camelCase.
 * `report(key, message)` is called for each problem. Shared by rules and run-time overrides.
 */
export function overridesProblems(r, ctx, report) {
  const out = {};
  const get = (snake, camel) => (r[snake] !== undefined ? [snake, r[snake]] : r[camel] !== undefined ? [camel, r[camel]] : [snake, undefined]);
  for (const [snake, camel] of [['drop', 'drop'], ['truncate', 'truncate'], ['zero_checksum', 'zeroChecksum']]) {
    const [k, v] = get(snake, camel);
    if (v === undefined) continue;
    if (typeof v !== 'boolean') report(k, `${k} must be true or false (got ${show(v)})`);
    else out[camel] = v;
  }
  {
    const [k, v] = get('delay_ms', 'delayMs');
    if (v !== undefined) {
      if (!intIn(v, 0, 60000)) report(k, `${k} ${show(v)} must be a whole number of milliseconds 0..60000`);
      else out.delayMs = v;
    }
  }
  {
    const [k, v] = get('rcode', 'rcode');
    if (v !== undefined) {
      const name = typeof v === 'string' ? v.toUpperCase() : '';
      if (!RCODES.includes(name)) report(k, `unknown rcode ${show(v)}; known: ${known(RCODES)}`);
      else out.rcode = name;
    }
  }
  {
    const [k, v] = get('reply_from', 'replyFrom');
    if (v !== undefined) {
      if (typeof v !== 'string' || !net.isIP(v)) report(k, `${k} ${show(v)} is not an IP address`);
      else if (ctx.addresses && !ctx.addresses.some((a) => sameIp(a, v))) {
        report(k, `${k} ${v} is not an address of ${ctx.node ?? 'the node'}; known: ${known(ctx.addresses)}`);
      } else out.replyFrom = canonicalIp(v);
    }
  }
  return out;
}

/** RFC 5952 text of an IPv6 address (the WHATWG URL parser prints it so); IPv4 as given. */
export function canonicalIp(ip) {
  return net.isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function sameIp(a, b) {
  return net.isIP(a) === net.isIP(b) && canonicalIp(a) === canonicalIp(b);
}

/** Parses record data of a type: { data } in dns-packet form, or a problem message. */
function recordData(type, v, zone) {
  const nameData = (x, field) => {
    if (typeof x !== 'string' || x.trim() === '') return `${field} must be a domain name (got ${show(x)})`;
    const n = absName(x, zone);
    const p = nameProblem(n);
    return p ? `${field} ${x} ${p}` : { name: n };
  };
  switch (type) {
    case 'A':
      if (typeof v !== 'string' || !net.isIPv4(v)) return `data ${show(v)} is not an IPv4 address`;
      return { data: v };
    case 'AAAA':
      if (typeof v !== 'string' || !net.isIPv6(v)) return `data ${show(v)} is not an IPv6 address`;
      return { data: canonicalIp(v) };
    case 'CNAME': case 'NS': case 'PTR': {
      const n = nameData(v, 'data');
      return typeof n === 'string' ? n : { data: n.name };
    }
    case 'MX': {
      let pref; let ex;
      if (typeof v === 'string') {
        const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(v);
        if (!m) return `data ${show(v)} is not "<preference> <exchange>", e.g. "10 mail"`;
        pref = Number(m[1]); ex = m[2];
      } else if (isRecord(v)) { pref = v.preference; ex = v.exchange; } else return `data must be "<preference> <exchange>" or a map (got ${show(v)})`;
      if (!intIn(pref, 0, 65535)) return `MX preference ${show(pref)} must be 0..65535`;
      const n = nameData(ex, 'MX exchange');
      return typeof n === 'string' ? n : { data: { preference: pref, exchange: n.name } };
    }
    case 'TXT': {
      const parts = Array.isArray(v) ? v : [v];
      if (parts.length === 0) return 'data must be a string or a non-empty list of strings';
      for (const s of parts) {
        if (typeof s !== 'string' && typeof s !== 'number') return `data must be a string or a list of strings (got ${show(s)})`;
        if (Buffer.byteLength(String(s)) > 255) return `TXT string of ${Buffer.byteLength(String(s))} bytes; at most 255 per string (split it into a list)`;
      }
      return { data: parts.map(String) };
    }
    case 'SRV': {
      let pr; let w; let port; let target;
      if (typeof v === 'string') {
        const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s*$/.exec(v);
        if (!m) return `data ${show(v)} is not "<priority> <weight> <port> <target>"`;
        [pr, w, port, target] = [Number(m[1]), Number(m[2]), Number(m[3]), m[4]];
      } else if (isRecord(v)) ({ priority: pr, weight: w, port, target } = v);
      else return `data must be "<priority> <weight> <port> <target>" or a map (got ${show(v)})`;
      for (const [f, x] of [['priority', pr], ['weight', w], ['port', port]]) if (!intIn(x, 0, 65535)) return `SRV ${f} ${show(x)} must be 0..65535`;
      const n = nameData(target, 'SRV target');
      return typeof n === 'string' ? n : { data: { priority: pr, weight: w, port, target: n.name } };
    }
    default:
      return `unknown type ${type}`;
  }
}

// ------------------------------------------------------------------------------------------ answering

/** Does a rule name (`www.edge.test`, `*.edge.test`) match a query name (lower case, no trailing dot)? */
export function ruleMatches(rule, qname, qtype) {
  if (rule.type !== undefined && rule.type !== qtype) return false;
  if (rule.name.startsWith('*.')) {
    const base = rule.name.slice(2);
    return base === '' ? qname !== '' : qname.endsWith(`.${base}`);
  }
  return rule.name === qname;
}

/** The first matching rule, or undefined. */
export function matchRule(rules, qname, qtype) {
  return rules.find((r) => ruleMatches(r, qname, qtype));
}

/** What to do for one query: the matched rule's actions, with run-time overrides on top. */
export function behaviour(plan, qname, qtype, overrides = {}) {
  const rule = matchRule(plan.rules, qname, qtype);
  const b = { ...(rule ?? {}), ...overrides };
  delete b.name; delete b.type;
  return { rule: rule?.name, ...b };
}

const RCODE_VALUE = Object.fromEntries(RCODES.map((n, i) => [n, i]));

function lookup(plan, qname, qtype) {
  const here = plan.records.filter((r) => r.name === qname);
  if (qtype === 'ANY') return { answers: here };
  if (qtype === 'SOA' && qname === plan.zone) return { answers: [plan.soa] };
  const exact = here.filter((r) => r.type === qtype);
  if (exact.length) return { answers: exact };
  const cname = here.find((r) => r.type === 'CNAME');
  if (cname) {
    // follow CNAMEs inside the zone (at most 8)
    const answers = [cname];
    let target = cname.data;
    for (let i = 0; i < 8 && inZone(target, plan.zone); i++) {
      const next = plan.records.filter((r) => r.name === target);
      const hit = next.filter((r) => r.type === qtype);
      if (hit.length) { answers.push(...hit); break; }
      const c = next.find((r) => r.type === 'CNAME');
      if (!c) break;
      answers.push(c);
      target = c.data;
    }
    return { answers };
  }
  const exists = here.length > 0 || qname === plan.zone || plan.records.some((r) => r.name.endsWith(`.${qname}`));
  return { answers: [], nxdomain: !exists };
}

/**
 * Composes the reply to a decoded query. Pure: returns what to do, never sends.
 *  - { action: 'drop', behaviour }
 *  - { action: 'reply', packet (Buffer), rcode, truncated, delayMs, replyFrom?, zeroChecksum, behaviour }
 * `transport` 'udp' or 'tcp': truncation applies to UDP only.
 */
export function respond(plan, query, transport, overrides = {}) {
  const q = query.questions?.[0];
  const qname = q ? String(q.name).toLowerCase().replace(/\.$/, '') : '';
  const qtype = q ? String(q.type).toUpperCase() : '';
  const b = behaviour(plan, qname, qtype, overrides);
  if (b.drop) return { action: 'drop', behaviour: b };

  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const cd = (query.flags ?? 0) & dnsPacket.CHECKING_DISABLED;
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  let rcode = 'NOERROR';
  let aa = false;
  let answers = [];
  let authorities = [];
  if (opcode !== 0) rcode = 'NOTIMP';
  else if (!q || (query.questions?.length ?? 0) !== 1) rcode = 'FORMERR';
  else if (String(q.class).toUpperCase() !== 'IN' || !inZone(qname, plan.zone)) rcode = 'REFUSED';
  else {
    aa = plan.authoritative;
    const r = lookup(plan, qname, qtype);
    answers = r.answers;
    if (r.nxdomain) rcode = 'NXDOMAIN';
    if (!answers.length) authorities = [negativeSoa(plan)];
  }
  if (b.rcode !== undefined && b.rcode !== rcode) {
    rcode = b.rcode;
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') aa = false;
    answers = [];
    authorities = rcode === 'NXDOMAIN' && inZone(qname, plan.zone) ? [negativeSoa(plan)] : [];
  }
  const flagsFor = (tc) => (opcode << 11) | (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0)
    | rd | cd | RCODE_VALUE[rcode];
  const additionals = opt ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP, flags: 0, options: [] }] : [];
  const packetFor = (tc) => ({
    type: 'response', id: query.id ?? 0, flags: flagsFor(tc), questions: q ? [q] : [],
    answers: tc ? [] : answers, authorities: tc ? [] : authorities, additionals,
  });
  let truncated = false;
  let packet = dnsPacket.encode(packetFor(false));
  if (transport === 'udp') {
    const limit = opt ? Math.max(512, Math.min(opt.udpPayloadSize ?? 512, MAX_UDP)) : 512;
    if (b.truncate || packet.length > limit) {
      truncated = true;
      packet = dnsPacket.encode(packetFor(true));
    }
  }
  return {
    action: 'reply', packet, rcode, truncated, delayMs: b.delayMs ?? 0,
    ...(b.replyFrom !== undefined && transport === 'udp' ? { replyFrom: b.replyFrom } : {}),
    zeroChecksum: transport === 'udp' && b.zeroChecksum === true,
    behaviour: b,
  };
}

function negativeSoa(plan) {
  return { ...plan.soa, ttl: Math.min(plan.soa.ttl, plan.soa.data.minimum) };
}
