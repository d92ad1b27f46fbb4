// Owns the DNS query probe: a query encoded here (dns-packet), sent from inside a node's network namespace
// by runner.mjs over UDP (unconnected socket) or TCP, the reply decoded into presentation-form records,
// and — when asked — the packets of that exchange picked out of a capture (capture.ts) as wire evidence.
// Must not resolve names (servers are IP literals), retry beyond one TCP retry on truncation, or pass
// unchecked names to dns-packet's tables (its toRcode/toType turn typos into NOERROR / 0).
import { createRequire } from 'node:module';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { runProbe } from './runner-client.js';
import { ipLiteralFamily } from './ping.js';
import { startCapture, type Capture, type Packet } from './capture.js';
import { UserError, knownList } from '../util/errors.js';

const require = createRequire(import.meta.url);
const TYPES = require('dns-packet/types.js') as { toString(code: number): string };
const CLASSES = require('dns-packet/classes.js') as { toString(code: number): string };
const RCODES = require('dns-packet/rcodes.js') as { toString(code: number): string };

export interface DnsEdnsOption { code: number; /** hex */ data?: string; }

export interface DnsQuery {
  /** IP literal of the server (never a name). */
  server: string;
  port?: number;
  name: string;
  /** Record type name (A, AAAA, MX …) or TYPEnnn. */
  type: string;
  /** IN (default), CH, HS, CS, ANY or CLASSnnn. */
  klass?: string;
  tcp?: boolean;
  rd?: boolean;
  cd?: boolean;
  do?: boolean;
  /** false = no OPT record; default EDNS with a 1232-byte UDP size. */
  edns?: false | { udpSize?: number; options?: DnsEdnsOption[] };
  /** Per exchange (a TC retry over TCP gets its own). */
  timeoutMs?: number;
  /** Default true: a UDP reply with TC set is retried over TCP and both are kept. */
  tcpOnTruncation?: boolean;
  id?: number;
}

/** The query with every default filled in, as it was sent. */
export type SentQuery = Required<Omit<DnsQuery, 'edns'>> & { edns: false | { udpSize: number; options: DnsEdnsOption[] } };

export interface DnsRecord {
  /** Owner name, absolute (trailing dot). */
  name: string;
  type: string;
  klass: string;
  ttl: number;
  /** The data part in zone-file presentation form: '192.0.2.1', '10 mx.example.', '"some" "text"'. */
  data: string;
}

export interface DnsFlags { aa: boolean; tc: boolean; rd: boolean; ra: boolean; ad: boolean; cd: boolean; }

export interface DnsEdns { udpSize: number; version: number; do: boolean; options: Array<{ code: number; data: string }>; }

export interface Endpoint { address: string; port: number; }

export interface WireDatagram {
  from: Endpoint;
  to: Endpoint;
  transport: 'udp' | 'tcp';
  /** UDP: the checksum field as it was on the wire where captured (0 = none). */
  udpChecksum?: number;
  /** UDP: the correct checksum for these bytes; differs from udpChecksum when it is wrong (or unfilled by offload on the sending side). */
  udpChecksumExpected?: number;
  /** UDP: the length field (header + payload); TCP: payload bytes of the segment. */
  length: number;
  /** Capture on 'any': 'out' for packets this namespace sent, 'host' for ones addressed to it. */
  direction?: string;
  timeMs: number;
}

export interface DnsWire {
  queries: WireDatagram[];
  replies: WireDatagram[];
  /** ICMP errors quoting one of our packets (e.g. port unreachable: type 3 code 3, ICMPv6 1/4). */
  icmp: Array<{ from: string; type: number; code: number }>;
}

export interface DnsResult {
  /** A reply reached the socket (it may still be malformed: see error). */
  ok: boolean;
  /** 'timeout' | 'refused' | 'reset' | 'unreachable' | 'closed' | 'malformed reply (…)' | a socket error code. */
  error?: string;
  transport: 'udp' | 'tcp';
  /** The UDP reply with TC set, when it was retried over TCP (this result is then the TCP one). */
  truncatedUdp?: DnsResult;
  rcode?: string;
  opcode?: string;
  flags?: DnsFlags;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  /** Without the OPT pseudo-record (see edns). */
  additionals: DnsRecord[];
  edns?: DnsEdns;
  /** Where the reply came from; differs from sentTo in the "reply from unexpected source" case. */
  from?: Endpoint;
  sentTo: Endpoint;
  /** The reply came from another address or port than the query went to. */
  unexpectedSource?: boolean;
  /** The reply's question differs from ours (name, type or class). */
  questionMismatch?: string;
  /** Our socket's address and port (matches the wire evidence). */
  local?: Endpoint;
  /** Query sent → reply received, inside the namespace (TCP: including the connect). */
  latencyMs?: number;
  /** Datagrams that arrived on our socket but were not the reply (other id, not a response). */
  stray?: Array<{ from: Endpoint; length: number; start: string }>;
  query: SentQuery;
  /** Only when captured. */
  wire?: DnsWire;
  /** The capture's bytes (only when captured; on the outermost result): attach as application/vnd.tcpdump.pcap. */
  pcap?: Buffer;
}

// ---------------------------------------------------------------------------------------------------------
// Names of types, classes and response codes, checked against dns-packet's own tables.

let typeCodes: Map<string, number> | undefined;
function typeTable(): Map<string, number> {
  if (!typeCodes) {
    typeCodes = new Map();
    for (let c = 1; c <= 65535; c++) {
      const n = TYPES.toString(c);
      if (!n.startsWith('UNKNOWN_')) typeCodes.set(n, c);
    }
  }
  return typeCodes;
}

function classTable(): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of [1, 2, 3, 4, 254, 255]) {
    const n = CLASSES.toString(c);
    if (!n.startsWith('UNKNOWN_')) m.set(n, c);
  }
  return m;
}

/** EDNS extended response codes (RFC 6891 and later), beyond the 4-bit header rcode dns-packet knows. */
const EXTENDED_RCODES: Record<number, string> = {
  16: 'BADVERS', 17: 'BADKEY', 18: 'BADTIME', 19: 'BADMODE', 20: 'BADNAME', 21: 'BADALG', 22: 'BADTRUNC', 23: 'BADCOOKIE',
};

function rcodeTable(): Map<string, number> {
  const m = new Map<string, number>();
  for (let c = 0; c < 16; c++) m.set(RCODES.toString(c), c);
  for (const [c, n] of Object.entries(EXTENDED_RCODES)) m.set(n, Number(c));
  return m;
}

/** The code of a record type name ('AAAA' → 28, 'TYPE65' → 65); case-insensitive; throws for unknown names. */
export function qtypeOf(name: string): number {
  const n = String(name).trim().toUpperCase();
  const known = typeTable().get(n);
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(n);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return Number(m[1]);
  throw new UserError(`unknown DNS record type '${name}'; known: ${knownList([...typeTable().keys()].sort(), 100)}`,
    'or TYPEnnn for a type by number');
}

/** The code of a class name ('IN' → 1, 'CH' → 3, 'CLASS5' → 5); throws for unknown names. */
export function qclassOf(name: string): number {
  const n = String(name).trim().toUpperCase();
  const known = classTable().get(n);
  if (known !== undefined) return known;
  const m = /^CLASS(\d{1,5})$/.exec(n);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return Number(m[1]);
  throw new UserError(`unknown DNS class '${name}'; known: ${knownList(classTable().keys())}`, 'or CLASSnnn for a class by number');
}

/** The code of a response code name ('NXDOMAIN' → 3); throws for unknown names (never NOERROR). */
export function rcodeOf(name: string): number {
  const n = String(name).trim().toUpperCase();
  const known = rcodeTable().get(n);
  if (known !== undefined) return known;
  const m = /^RCODE_?(\d{1,4})$/.exec(n);
  if (m && Number(m[1]) <= 4095) return Number(m[1]);
  throw new UserError(`unknown DNS response code '${name}'; known: ${knownList(rcodeTable().keys(), 40)}`);
}

export function typeName(code: number): string {
  const n = TYPES.toString(code);
  return n.startsWith('UNKNOWN_') ? `TYPE${code}` : n;
}

export function className(code: number): string {
  const n = CLASSES.toString(code);
  return n.startsWith('UNKNOWN_') ? `CLASS${code}` : n;
}

export function rcodeName(code: number): string {
  if (code < 16) return RCODES.toString(code);
  return EXTENDED_RCODES[code] ?? `RCODE_${code}`;
}

// ---------------------------------------------------------------------------------------------------------
// Query: defaults, checks, encoding.

/** 'www.example.com' → 'www.example.com.'; the root is '.'. */
export function fqdn(name: string): string {
  if (name === '' || name === '.') return '.';
  return name.endsWith('.') ? name : `${name}.`;
}

function checkName(name: string): string {
  const n = fqdn(String(name).trim());
  if (n === '.') return n;
  const labels = n.slice(0, -1).split('.');
  let wire = 1;
  for (const l of labels) {
    const len = Buffer.byteLength(l);
    if (len === 0) throw new UserError(`cannot query '${name}' (empty label)`);
    if (len > 63) throw new UserError(`cannot query '${name}' (label '${l.slice(0, 20)}…' is ${len} bytes; at most 63)`);
    wire += len + 1;
  }
  if (wire > 255) throw new UserError(`cannot query '${name}' (${wire} bytes on the wire; at most 255)`);
  return n;
}

const MAX_TIMEOUT_MS = 60_000;

/** Fills in defaults and checks every field; throws UserError naming the problem. */
export function normalizeQuery(q: DnsQuery): SentQuery {
  const server = String(q.server ?? '');
  if (!ipLiteralFamily(server)) {
    throw new UserError(`cannot query DNS server '${server}' (not an IP address)`, 'probes never resolve names; resolve lab names with resolveTarget');
  }
  const port = q.port ?? 53;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`cannot query ${server} (port ${port} is not 1..65535)`);
  const name = checkName(q.name);
  const qtype = qtypeOf(q.type);
  const qclass = qclassOf(q.klass ?? 'IN');
  const timeoutMs = q.timeoutMs ?? 2000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new UserError(`cannot query ${server} (timeout ${timeoutMs} ms is not 1..${MAX_TIMEOUT_MS})`);
  }
  const id = q.id ?? randomInt(0, 65536);
  if (!Number.isInteger(id) || id < 0 || id > 65535) throw new UserError(`cannot query ${server} (id ${id} is not 0..65535)`);
  let edns: SentQuery['edns'] = false;
  if (q.edns !== false) {
    const udpSize = q.edns?.udpSize ?? 1232;
    if (!Number.isInteger(udpSize) || udpSize < 512 || udpSize > 65535) throw new UserError(`cannot query ${server} (EDNS UDP size ${udpSize} is not 512..65535)`);
    const options = (q.edns?.options ?? []).map((o) => {
      if (!Number.isInteger(o.code) || o.code < 0 || o.code > 65535) throw new UserError(`cannot query ${server} (EDNS option code ${o.code} is not 0..65535)`);
      const data = (o.data ?? '').toLowerCase();
      if (!/^([0-9a-f]{2})*$/.test(data)) throw new UserError(`cannot query ${server} (EDNS option ${o.code} data '${o.data}' is not hex)`);
      return { code: o.code, data };
    });
    edns = { udpSize, options };
  }
  const dnssecOk = q.do ?? false;
  if (dnssecOk && !edns) throw new UserError(`cannot query ${server} with the DO bit (it lives in the EDNS OPT record; edns is false)`);
  return {
    server, port, name, type: typeName(qtype), klass: className(qclass), tcp: q.tcp ?? false, rd: q.rd ?? true, cd: q.cd ?? false,
    do: dnssecOk, edns, timeoutMs, tcpOnTruncation: q.tcpOnTruncation ?? true, id,
  };
}

/** Offset just past the (uncompressed or pointer-terminated) name at `off`; at most 128 labels. */
function nameEnd(buf: Buffer, off: number): number {
  for (let i = 0; i < 128 && off < buf.length; i++) {
    const len = buf[off] as number;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += len + 1;
  }
  throw new Error('cannot find the end of the question name');
}

/** The query message (without TCP framing). The question's type and class are written as numbers, so
 *  dns-packet never looks names up. */
export function encodeQuery(q: SentQuery): Buffer {
  const flags = (q.rd ? dnsPacket.RECURSION_DESIRED : 0) | (q.cd ? dnsPacket.CHECKING_DISABLED : 0);
  const additionals = q.edns ? [{
    name: '.', type: 'OPT' as const, udpPayloadSize: q.edns.udpSize, extendedRcode: 0, ednsVersion: 0,
    flags: q.do ? dnsPacket.DNSSEC_OK : 0, flag_do: q.do,
    options: q.edns.options.map((o) => ({ code: o.code, data: Buffer.from(o.data ?? '', 'hex') })),
  }] : [];
  const buf = dnsPacket.encode({
    type: 'query', id: q.id, flags,
    questions: [{ name: q.name, type: 'A', class: 'IN' }],
    additionals: additionals as unknown as dnsPacket.Answer[],
  });
  const qEnd = nameEnd(buf, 12);
  buf.writeUInt16BE(qtypeOf(q.type), qEnd);
  buf.writeUInt16BE(qclassOf(q.klass), qEnd + 2);
  return buf;
}

// ---------------------------------------------------------------------------------------------------------
// Reply: decoding into presentation form.

export interface DecodedReply {
  id: number;
  rcode: string;
  opcode: string;
  flags: DnsFlags;
  question?: { name: string; type: string; klass: string };
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  edns?: DnsEdns;
}

interface RawAnswer {
  name: string; type: string; class?: string; ttl?: number; data?: unknown;
  udpPayloadSize?: number; extendedRcode?: number; ednsVersion?: number; flags?: number; options?: Array<{ code: number; data?: Buffer }>;
}
interface RawPacket {
  id: number; opcode: string; flags: number; flag_qr: boolean;
  questions: Array<{ name: string; type: string; class: string }>;
  answers: RawAnswer[]; authorities: RawAnswer[]; additionals: RawAnswer[];
}

const hexUpper = (b: Buffer): string => b.toString('hex').toUpperCase();

/** A character-string in zone-file form: quoted, with \" \\ and \DDD for non-printables. */
export function quoteString(b: Buffer | string): string {
  const bytes = typeof b === 'string' ? Buffer.from(b) : b;
  let s = '"';
  for (const c of bytes) {
    if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${String(c).padStart(3, '0')}`;
  }
  return `${s}"`;
}

function sigTime(t: number): string {
  return new Date(t * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function base32hex(b: Buffer): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUV';
  let bits = 0; let value = 0; let out = '';
  for (const byte of b) {
    value = (value << 8) | byte; bits += 8;
    while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** The data part of a record in presentation form (RFC 1035 §5.1; RFC 3597 `\# len hex` for others). */
export function rdataText(type: string, data: unknown): string {
  const d = data as Record<string, unknown> & Buffer;
  switch (type) {
    case 'A': case 'AAAA': return String(data);
    case 'NS': case 'CNAME': case 'DNAME': case 'PTR': return fqdn(String(data));
    case 'MX': return `${d.preference ?? 0} ${fqdn(String(d.exchange))}`;
    case 'SOA': return `${fqdn(String(d.mname))} ${fqdn(String(d.rname))} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case 'TXT': return (Array.isArray(data) ? data : [data]).map((x) => quoteString(x as Buffer)).join(' ');
    case 'SRV': return `${d.priority ?? 0} ${d.weight ?? 0} ${d.port} ${fqdn(String(d.target))}`;
    case 'CAA': return `${d.flags ?? 0} ${d.tag} ${quoteString(String(d.value))}`;
    case 'HINFO': return `${quoteString(String(d.cpu))} ${quoteString(String(d.os))}`;
    case 'RP': return `${fqdn(String(d.mbox))} ${fqdn(String(d.txt))}`;
    case 'DS': return `${d.keyTag} ${d.algorithm} ${d.digestType} ${hexUpper(d.digest as Buffer)}`;
    case 'DNSKEY': return `${d.flags} 3 ${d.algorithm} ${(d.key as Buffer).toString('base64')}`;
    case 'RRSIG': return `${d.typeCovered} ${d.algorithm} ${d.labels} ${d.originalTTL} ${sigTime(d.expiration as number)} `
      + `${sigTime(d.inception as number)} ${d.keyTag} ${fqdn(String(d.signersName))} ${(d.signature as Buffer).toString('base64')}`;
    case 'NSEC': return [fqdn(String(d.nextDomain)), ...(d.rrtypes as string[])].join(' ');
    case 'NSEC3': {
      const salt = (d.salt as Buffer).length ? hexUpper(d.salt as Buffer) : '-';
      return [d.algorithm, d.flags, d.iterations, salt, base32hex(d.nextDomain as Buffer), ...(d.rrtypes as string[])].join(' ');
    }
    case 'SSHFP': return `${d.algorithm} ${d.hash} ${d.fingerprint}`;
    case 'TLSA': return `${d.usage} ${d.selector} ${d.matchingType} ${hexUpper(d.certificate as Buffer)}`;
    case 'NAPTR': return `${d.order} ${d.preference} ${quoteString(String(d.flags))} ${quoteString(String(d.services))} `
      + `${quoteString(String(d.regexp))} ${fqdn(String(d.replacement))}`;
  }
  if (Buffer.isBuffer(data)) return `\\# ${data.length}${data.length ? ` ${data.toString('hex').toUpperCase()}` : ''}`;
  return JSON.stringify(data);
}

function record(a: RawAnswer): DnsRecord {
  const type = a.type.startsWith('UNKNOWN_') ? `TYPE${a.type.slice(8)}` : a.type;
  const klass = (a.class ?? 'IN').startsWith('UNKNOWN_') ? `CLASS${(a.class as string).slice(8)}` : a.class ?? 'IN';
  return { name: fqdn(a.name), type, klass, ttl: a.ttl ?? 0, data: rdataText(type, a.data) };
}

/** Decodes a reply message; throws (with dns-packet's reason) when it is malformed. */
export function decodeReply(buf: Buffer): DecodedReply {
  const p = dnsPacket.decode(buf) as unknown as RawPacket;
  const opt = p.additionals.find((a) => a.type === 'OPT');
  const rcode = ((opt?.extendedRcode ?? 0) << 4) | (p.flags & 0xf);
  const f = p.flags;
  const out: DecodedReply = {
    id: p.id,
    rcode: rcodeName(rcode),
    opcode: p.opcode,
    flags: {
      aa: (f & dnsPacket.AUTHORITATIVE_ANSWER) !== 0, tc: (f & dnsPacket.TRUNCATED_RESPONSE) !== 0,
      rd: (f & dnsPacket.RECURSION_DESIRED) !== 0, ra: (f & dnsPacket.RECURSION_AVAILABLE) !== 0,
      ad: (f & dnsPacket.AUTHENTIC_DATA) !== 0, cd: (f & dnsPacket.CHECKING_DISABLED) !== 0,
    },
    answers: p.answers.map(record),
    authorities: p.authorities.map(record),
    additionals: p.additionals.filter((a) => a.type !== 'OPT').map(record),
  };
  const q = p.questions[0];
  if (q) {
    // Type and class straight from the bytes: dns-packet names unknown ones UNKNOWN_n.
    const qEnd = nameEnd(buf, 12);
    const rawType = buf.length >= qEnd + 4 ? buf.readUInt16BE(qEnd) : 0;
    const rawClass = buf.length >= qEnd + 4 ? buf.readUInt16BE(qEnd + 2) : 0;
    out.question = { name: fqdn(q.name), type: typeName(rawType), klass: className(rawClass) };
  }
  if (opt) {
    out.edns = {
      udpSize: opt.udpPayloadSize ?? 0, version: opt.ednsVersion ?? 0, do: ((opt.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0,
      options: (opt.options ?? []).map((o) => ({ code: o.code, data: (o.data ?? Buffer.alloc(0)).toString('hex') })),
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Comparing addresses (for "reply from unexpected source").

/** A canonical form of an IP literal: IPv6 expanded to 8 groups, lower case, zone dropped. */
export function canonicalIp(addr: string): string {
  const a = addr.split('%')[0] as string;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1] as string;
  if (!a.includes(':')) return a;
  let s = a.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const o = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, -(v4[1] as string).length) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

export function sameAddress(a: string, b: string): boolean {
  return canonicalIp(a) === canonicalIp(b);
}

// ---------------------------------------------------------------------------------------------------------
// Runner answer → result.

/** One exchange as runner.mjs reports it. */
export interface RunnerExchange {
  transport: 'udp' | 'tcp';
  ok: boolean;
  ms: number;
  error?: string;
  from?: Endpoint;
  local?: Endpoint;
  reply?: string;
  connectMs?: number;
  stray?: Array<{ from: Endpoint; length: number; start: string }>;
}

/** The result for one exchange (pure: exported for unit tests). */
export function exchangeResult(q: SentQuery, ex: RunnerExchange, packets?: Packet[]): DnsResult {
  const r: DnsResult = {
    ok: ex.ok, transport: ex.transport, answers: [], authorities: [], additionals: [],
    sentTo: { address: q.server, port: q.port }, query: q,
  };
  if (ex.local) r.local = ex.local;
  if (ex.stray?.length) r.stray = ex.stray;
  if (ex.ok) {
    r.latencyMs = ex.ms;
    if (ex.from) {
      r.from = ex.from;
      if (!sameAddress(ex.from.address, q.server) || ex.from.port !== q.port) r.unexpectedSource = true;
    }
    try {
      const d = decodeReply(Buffer.from(ex.reply ?? '', 'hex'));
      Object.assign(r, { rcode: d.rcode, opcode: d.opcode, flags: d.flags, answers: d.answers, authorities: d.authorities, additionals: d.additionals });
      if (d.edns) r.edns = d.edns;
      const want = { name: q.name.toLowerCase(), type: q.type, klass: q.klass };
      const got = d.question;
      if (got && (got.name.toLowerCase() !== want.name || got.type !== want.type || got.klass !== want.klass)) {
        r.questionMismatch = `reply is for ${got.name} ${got.klass} ${got.type}, the query asked ${q.name} ${q.klass} ${q.type}`;
      }
    } catch (e) {
      r.error = `malformed reply (${(e as Error).message})`;
    }
  } else {
    r.error = ex.error ?? 'no reply';
  }
  if (packets) r.wire = wireOf(q, ex, packets);
  return r;
}

function endpoint(address: string, port: number | undefined): Endpoint { return { address, port: port ?? 0 }; }

function datagram(p: Packet): WireDatagram {
  const d: WireDatagram = {
    from: endpoint(p.src, p.srcPort), to: endpoint(p.dst, p.dstPort), transport: p.proto as 'udp' | 'tcp',
    length: p.proto === 'udp' ? p.udpLength ?? 0 : p.payloadLength ?? 0, timeMs: p.timeMs,
  };
  if (p.udpChecksum !== undefined) d.udpChecksum = p.udpChecksum;
  if (p.udpChecksumExpected !== undefined) d.udpChecksumExpected = p.udpChecksumExpected;
  if (p.direction) d.direction = p.direction;
  return d;
}

/** The packets of one exchange in a capture: by our local port (replies from any source count). */
export function wireOf(q: SentQuery, ex: RunnerExchange, packets: Packet[]): DnsWire {
  const wire: DnsWire = { queries: [], replies: [], icmp: [] };
  const local = ex.local?.port;
  if (!local) return wire;
  for (const p of packets) {
    if (p.proto === ex.transport) {
      if (ex.transport === 'tcp' && !p.payloadLength) continue;   // handshakes and bare ACKs
      if (p.srcPort === local && p.dstPort === q.port && sameAddress(p.dst, q.server)) wire.queries.push(datagram(p));
      else if (p.dstPort === local && (ex.transport === 'udp' || p.srcPort === q.port)) wire.replies.push(datagram(p));
    } else if (p.icmp?.inner && p.icmp.inner.proto === ex.transport && p.icmp.inner.srcPort === local) {
      wire.icmp.push({ from: p.src, type: p.icmp.type, code: p.icmp.code });
    }
  }
  return wire;
}

/** Builds the result from the runner's exchanges: a TC retry becomes the TCP result with truncatedUdp. */
export function resultOf(q: SentQuery, exchanges: RunnerExchange[], packets?: Packet[]): DnsResult {
  const [first, second] = exchanges;
  if (!first) throw new Error('runner answered a dns probe without exchanges');
  const r1 = exchangeResult(q, first, packets);
  if (!second) return r1;
  const r2 = exchangeResult(q, second, packets);
  r2.truncatedUdp = r1;
  return r2;
}

/** Capture filter for a query: all UDP (a reply may come from any address and port), TCP to the
 *  server's port, and ICMP errors. */
export function dnsCaptureFilter(q: SentQuery): string {
  return `udp or (tcp port ${q.port}) or icmp or icmp6`;
}

// ---------------------------------------------------------------------------------------------------------

export interface DnsQueryOptions {
  /** Capture the exchange inside the namespace (tcpdump) and report the packets in `wire`. */
  capture?: { iface?: string };
}

/** How long to wait for the capture to catch up with what the socket saw. */
const CAPTURE_CATCH_UP_MS = 1000;

/** Asks one question from inside the namespace at nsPath. Never throws for "no reply" (ok: false). */
export async function dnsQuery(nsPath: string, query: DnsQuery, opts: DnsQueryOptions = {}): Promise<DnsResult> {
  const q = normalizeQuery(query);
  const msg = encodeQuery(q);
  const request = {
    op: 'dns', server: q.server, port: q.port, query: msg.toString('hex'), tcp: q.tcp,
    tcpOnTruncation: q.tcpOnTruncation, timeoutMs: q.timeoutMs,
  };
  const budget = q.tcp || !q.tcpOnTruncation ? q.timeoutMs : 2 * q.timeoutMs;
  let cap: Capture | undefined;
  if (opts.capture) cap = await startCapture(nsPath, { iface: opts.capture.iface, filter: dnsCaptureFilter(q), maxPackets: 10_000, maxMs: budget + 30_000 });
  let answer: { exchanges: RunnerExchange[] };
  try {
    answer = await runProbe<{ exchanges: RunnerExchange[] }>(nsPath, request, budget);
  } catch (e) {
    if (cap) await cap.stop().catch(() => undefined);
    throw e;
  }
  if (!cap) return resultOf(q, answer.exchanges);
  // The socket saw it, so the capture tap did too: wait (bounded) until tcpdump has written it.
  await cap.waitFor((packets) => answer.exchanges.every((ex) => {
    const w = wireOf(q, ex, packets);
    if (ex.ok) return w.queries.length > 0 && w.replies.length > 0;
    return ex.transport === 'udp' && ex.error === 'timeout' ? w.queries.length > 0 : true;
  }), CAPTURE_CATCH_UP_MS);
  const captured = await cap.stop();
  const r = resultOf(q, answer.exchanges, captured.packets);
  r.pcap = captured.pcap;
  return r;
}
