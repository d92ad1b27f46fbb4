// Owns packet capture inside a node's network namespace with the machine's tcpdump
// (`nsenter --net=<path> tcpdump -U -w <tmp file>`), and parsing classic pcap files ourselves: Ethernet,
// Linux cooked v1/v2 and raw IP; IPv4/IPv6; UDP, TCP and ICMP errors. Must not change the lab, keep files
// after stop(), or leave tcpdump running (every capture is bounded in packets and time).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { sleep } from '../util/exec.js';

/** The media type to attach a pcap under (reports, Cucumber attachments). */
export const PCAP_MEDIA_TYPE = 'application/vnd.tcpdump.pcap';

export const LINKTYPE = { ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

/** Linux packet types (sll_pkttype) as words; 'out' is a packet this namespace sent. */
export type Direction = 'host' | 'broadcast' | 'multicast' | 'otherhost' | 'out';
const DIRECTIONS: readonly Direction[] = ['host', 'broadcast', 'multicast', 'otherhost', 'out'];

export interface IcmpError {
  type: number;
  code: number;
  /** The packet that caused the error, as quoted in the ICMP payload (when it is IP + UDP/TCP). */
  inner?: { src: string; dst: string; proto: string; srcPort?: number; dstPort?: number };
}

export interface Packet {
  /** Capture time, ms since the epoch (µs or ns resolution kept as a fraction). */
  timeMs: number;
  /** Bytes stored in the file / bytes the packet had. */
  capturedLength: number;
  length: number;
  /** From Linux cooked headers only (capture on `any`): direction and interface index. */
  direction?: Direction;
  ifindex?: number;
  family: 4 | 6;
  src: string;
  dst: string;
  /** 'udp' | 'tcp' | 'icmp' | 'icmp6' | the IP protocol number as a string. */
  proto: string;
  ttl: number;
  srcPort?: number;
  dstPort?: number;
  /** UDP: the checksum field as on the wire (0 = none, legal over IPv4 only). */
  udpChecksum?: number;
  /** UDP: what the checksum should be, computed from the captured bytes (absent when truncated). */
  udpChecksumExpected?: number;
  /** UDP: the length field (header + payload). */
  udpLength?: number;
  /** TCP: flags as letters in tcpdump's order (S F R P . U E W), '.' for ACK. */
  tcpFlags?: string;
  /** L4 payload bytes (UDP/TCP). */
  payloadLength?: number;
  /** The L4 payload as captured (UDP/TCP), for decoding DNS from the wire. */
  payload?: Buffer;
  icmp?: IcmpError;
  /** A non-first IPv4/IPv6 fragment: no L4 header to read. */
  fragment?: boolean;
}

export interface ParsedPcap { linkType: number; nanoseconds: boolean; packets: Packet[]; skipped: number; }

const MAX_PACKETS = 1_000_000;

/** Parses a classic pcap file (either byte order, µs or ns timestamps). Non-IP frames are counted as skipped. */
export function parsePcap(buf: Buffer, maxPackets = MAX_PACKETS): ParsedPcap {
  if (buf.length < 24) throw new Error(`cannot parse pcap (${buf.length} bytes, shorter than the 24-byte file header)`);
  const magicBE = buf.readUInt32BE(0);
  let le: boolean; let ns: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) { le = false; ns = magicBE === 0xa1b23c4d; }
  else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) { le = true; ns = magicBE === 0x4d3cb2a1; }
  else if (magicBE === 0x0a0d0d0a) throw new Error('cannot parse pcap (this is pcapng; capture with tcpdump -w, which writes classic pcap)');
  else throw new Error(`cannot parse pcap (bad magic 0x${magicBE.toString(16).padStart(8, '0')})`);
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const packets: Packet[] = [];
  let skipped = 0;
  let off = 24;
  // Each record advances by at least 16 bytes: bounded by the file size and by maxPackets.
  while (off + 16 <= buf.length && packets.length + skipped < maxPackets) {
    const sec = u32(off); const frac = u32(off + 4); const incl = u32(off + 8); const orig = u32(off + 12);
    off += 16;
    if (off + incl > buf.length) break;   // a record cut short (capture stopped mid-write)
    const frame = buf.subarray(off, off + incl);
    off += incl;
    const p = parseFrame(linkType, frame);
    if (!p) { skipped++; continue; }
    packets.push({ timeMs: sec * 1000 + (ns ? frac / 1e6 : frac / 1e3), capturedLength: incl, length: orig, ...p } as Packet);
  }
  return { linkType, nanoseconds: ns, packets, skipped };
}

type FrameInfo = Omit<Packet, 'timeMs' | 'capturedLength' | 'length'>;

function parseFrame(linkType: number, f: Buffer): FrameInfo | undefined {
  let etherType: number; let off: number;
  let direction: Direction | undefined; let ifindex: number | undefined;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (f.length < 14) return undefined;
      etherType = f.readUInt16BE(12); off = 14;
      for (let tags = 0; tags < 2 && (etherType === 0x8100 || etherType === 0x88a8) && f.length >= off + 4; tags++) {
        etherType = f.readUInt16BE(off + 2); off += 4;
      }
      break;
    }
    case LINKTYPE.LINUX_SLL:
      if (f.length < 16) return undefined;
      direction = DIRECTIONS[f.readUInt16BE(0)];
      etherType = f.readUInt16BE(14); off = 16;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (f.length < 20) return undefined;
      etherType = f.readUInt16BE(0); ifindex = f.readUInt32BE(4);
      direction = DIRECTIONS[f[10] as number]; off = 20;
      break;
    case LINKTYPE.RAW:
      if (f.length < 1) return undefined;
      etherType = (f[0] as number) >> 4 === 6 ? 0x86dd : 0x0800; off = 0;
      break;
    default:
      throw new Error(`cannot parse pcap (link type ${linkType}; known: 1 Ethernet, 101 raw IP, 113 Linux cooked, 276 Linux cooked v2)`);
  }
  const ip = etherType === 0x0800 ? parseIPv4(f.subarray(off)) : etherType === 0x86dd ? parseIPv6(f.subarray(off)) : undefined;
  if (!ip) return undefined;
  return { ...(direction ? { direction } : {}), ...(ifindex !== undefined ? { ifindex } : {}), ...ip };
}

interface IpInfo { family: 4 | 6; src: string; dst: string; protoNum: number; ttl: number; l4: Buffer; l4Length: number; fragment: boolean; pseudo: Buffer; }

function ipv4Header(b: Buffer): Omit<IpInfo, 'pseudo'> | undefined {
  if (b.length < 20 || (b[0] as number) >> 4 !== 4) return undefined;
  const ihl = ((b[0] as number) & 0x0f) * 4;
  if (ihl < 20 || b.length < ihl) return undefined;
  const total = b.readUInt16BE(2);
  const fragOff = b.readUInt16BE(6) & 0x1fff;
  const l4Length = Math.max(0, total - ihl);
  return {
    family: 4, src: [...b.subarray(12, 16)].join('.'), dst: [...b.subarray(16, 20)].join('.'),
    protoNum: b[9] as number, ttl: b[8] as number, l4: b.subarray(ihl, Math.min(b.length, total)), l4Length, fragment: fragOff !== 0,
  };
}

function parseIPv4(b: Buffer): FrameInfo | undefined {
  const h = ipv4Header(b);
  if (!h) return undefined;
  return l4Info({ ...h, pseudo: b.subarray(12, 20) });
}

function v6String(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Longest run of two or more zero groups becomes '::' (RFC 5952).
  let best = -1; let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

const V6_EXT = new Set([0, 43, 44, 60]);

function ipv6Header(b: Buffer): Omit<IpInfo, 'pseudo'> & { srcRaw: Buffer; dstRaw: Buffer } | undefined {
  if (b.length < 40 || (b[0] as number) >> 4 !== 6) return undefined;
  let next = b[6] as number;
  const payloadLen = b.readUInt16BE(4);
  let off = 40;
  let fragment = false;
  for (let i = 0; i < 8 && V6_EXT.has(next); i++) {
    if (b.length < off + 8) return undefined;
    if (next === 44) fragment = fragment || (b.readUInt16BE(off + 2) & 0xfff8) !== 0;
    const len = next === 44 ? 8 : ((b[off + 1] as number) + 1) * 8;
    next = b[off] as number;
    off += len;
  }
  const end = Math.min(b.length, 40 + payloadLen);
  return {
    family: 6, src: v6String(b.subarray(8, 24)), dst: v6String(b.subarray(24, 40)), srcRaw: b.subarray(8, 24), dstRaw: b.subarray(24, 40),
    protoNum: next, ttl: b[7] as number, l4: b.subarray(Math.min(off, end), end), l4Length: Math.max(0, 40 + payloadLen - off), fragment,
  };
}

function parseIPv6(b: Buffer): FrameInfo | undefined {
  const h = ipv6Header(b);
  if (!h) return undefined;
  return l4Info({ ...h, pseudo: Buffer.concat([h.srcRaw, h.dstRaw]) });
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6' };
const TCP_FLAGS: Array<[number, string]> = [[0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, '.'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W']];

function l4Info(ip: IpInfo): FrameInfo {
  const base: FrameInfo = { family: ip.family, src: ip.src, dst: ip.dst, proto: PROTO[ip.protoNum] ?? String(ip.protoNum), ttl: ip.ttl };
  if (ip.fragment) return { ...base, fragment: true };
  const l4 = ip.l4;
  if (ip.protoNum === 17 && l4.length >= 8) {
    const udpLength = l4.readUInt16BE(4);
    const payload = l4.subarray(8, Math.min(l4.length, udpLength));
    const out: FrameInfo = {
      ...base, srcPort: l4.readUInt16BE(0), dstPort: l4.readUInt16BE(2), udpChecksum: l4.readUInt16BE(6), udpLength,
      payloadLength: Math.max(0, udpLength - 8), payload,
    };
    if (l4.length >= udpLength && udpLength >= 8) out.udpChecksumExpected = udpChecksum(ip.pseudo, l4.subarray(0, udpLength));
    return out;
  }
  if (ip.protoNum === 6 && l4.length >= 20) {
    const dataOff = ((l4[12] as number) >> 4) * 4;
    const flags = l4[13] as number;
    return {
      ...base, srcPort: l4.readUInt16BE(0), dstPort: l4.readUInt16BE(2),
      tcpFlags: TCP_FLAGS.filter(([bit]) => flags & bit).map(([, c]) => c).join(''),
      payloadLength: Math.max(0, ip.l4Length - dataOff), payload: l4.subarray(Math.min(dataOff, l4.length)),
    };
  }
  if ((ip.protoNum === 1 || ip.protoNum === 58) && l4.length >= 8) {
    const type = l4[0] as number; const code = l4[1] as number;
    const isError = ip.protoNum === 1 ? [3, 4, 5, 11, 12].includes(type) : type >= 1 && type <= 4;
    const icmp: IcmpError = { type, code };
    if (isError) {
      const inner = ip.protoNum === 1 ? ipv4Header(l4.subarray(8)) : ipv6Header(l4.subarray(8));
      if (inner) {
        icmp.inner = { src: inner.src, dst: inner.dst, proto: PROTO[inner.protoNum] ?? String(inner.protoNum) };
        if ((inner.protoNum === 17 || inner.protoNum === 6) && !inner.fragment && inner.l4.length >= 4) {
          icmp.inner.srcPort = inner.l4.readUInt16BE(0);
          icmp.inner.dstPort = inner.l4.readUInt16BE(2);
        }
      }
    }
    return { ...base, icmp };
  }
  return base;
}

/** The UDP checksum a correct sender puts in (RFC 768 / RFC 8200): 0 is sent as 0xffff. */
export function udpChecksum(srcDst: Buffer, udp: Buffer): number {
  let sum = 0;
  const add = (b: Buffer, skipChecksum: boolean): void => {
    for (let i = 0; i + 1 < b.length; i += 2) {
      if (!(skipChecksum && i === 6)) sum += b.readUInt16BE(i);
    }
    if (b.length % 2) sum += (b[b.length - 1] as number) << 8;
  };
  // Pseudo-header: addresses, protocol 17, UDP length (IPv6's 32-bit length and zero padding sum the same).
  add(srcDst, false);
  sum += 17 + udp.length;
  add(udp, true);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}

export interface CaptureOptions {
  /** Interface inside the namespace (default 'any': all of them, Linux cooked v2 headers). */
  iface?: string;
  /** A tcpdump filter expression (one argument; no shell). */
  filter?: string;
  /** tcpdump stops by itself after this many packets (default 10000). */
  maxPackets?: number;
  /** Hard stop: tcpdump gets SIGINT after this long even if stop() is never called (default 120 s, 1 s..1 h). */
  maxMs?: number;
  /** How long to wait for tcpdump to report that it is listening (default 5 s). */
  startTimeoutMs?: number;
}

export interface CaptureResult {
  packets: Packet[];
  /** The pcap file as tcpdump wrote it: attach it as PCAP_MEDIA_TYPE. */
  pcap: Buffer;
  linkType: number;
  /** tcpdump's own last words ("N packets captured", "M packets dropped by kernel"). */
  summary: string;
}

export interface Capture {
  readonly iface: string;
  readonly filter: string;
  /** The packets written so far (tcpdump -U flushes each one). */
  packetsSoFar(): Packet[];
  /** Polls the file every 10 ms until `pred` holds or timeoutMs passed; true if it held. */
  waitFor(pred: (packets: Packet[]) => boolean, timeoutMs: number): Promise<boolean>;
  /** SIGINT, wait for tcpdump to exit (bounded; SIGKILL after 3 s), read and delete the file. Idempotent. */
  stop(): Promise<CaptureResult>;
}

/** Captures not yet stopped: on process exit their tcpdump is killed and their temp dir removed. */
const active = new Map<string, ChildProcess>();
let exitHook = false;
function track(dir: string, child: ChildProcess): void {
  active.set(dir, child);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const [d, c] of active) {
      try { c.kill('SIGKILL'); } catch { /* gone */ }
      rmSync(d, { recursive: true, force: true });
    }
  });
}

const IFACE_RE = /^[A-Za-z0-9_.:-]{1,15}$/;
const DOTTED_NAME = /^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+\.?$/;
const MAC = /^[0-9A-Fa-f]{1,2}([:.-][0-9A-Fa-f]{1,2}){5}$/;
const AFTER_SRC_DST = new Set(['host', 'net', 'port', 'portrange', 'and', 'or', 'not']);

/**
 * Refuses filters that name hosts: tcpdump would resolve them with the machine's resolver, from inside
 * the lab namespace (network safety: no name resolution). IP addresses, ports and protocol names are fine.
 */
export function checkFilter(filter: string): void {
  const tokens = filter.split(/[\s()!]+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const prev = tokens[i - 1];
    const named = DOTTED_NAME.test(t)
      || ((prev === 'host' || prev === 'gateway') && !isIP(t) && !MAC.test(t))
      || ((prev === 'src' || prev === 'dst') && !isIP(t) && !AFTER_SRC_DST.has(t) && !/^[0-9]/.test(t));
    if (named) throw new UserError(`cannot capture with filter '${filter}' (it names host '${t}'; tcpdump would resolve it)`, 'use IP addresses');
  }
}


/** Starts tcpdump inside the namespace at nsPath; resolves once it is listening. */
export async function startCapture(nsPath: string, opts: CaptureOptions = {}): Promise<Capture> {
  const iface = opts.iface ?? 'any';
  if (!IFACE_RE.test(iface)) throw new UserError(`cannot capture on '${iface}' (not an interface name)`);
  const maxPackets = opts.maxPackets ?? 10_000;
  if (!Number.isInteger(maxPackets) || maxPackets < 1 || maxPackets > MAX_PACKETS) {
    throw new UserError(`cannot capture on ${iface} (maxPackets ${maxPackets} is not 1..${MAX_PACKETS})`);
  }
  const maxMs = Math.min(Math.max(1000, opts.maxMs ?? 120_000), 3_600_000);
  const filter = opts.filter ?? '';
  checkFilter(filter);
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-capture-'));
  const file = join(dir, 'capture.pcap');
  // setpriv --pdeathsig: tcpdump gets SIGINT if this process dies without stop(). -U: write each packet
  // at once; --immediate-mode: hand packets over without the ring's block timeout; -Z root: Debian's
  // tcpdump would otherwise switch to user tcpdump.
  const args = [`--net=${nsPath}`, 'setpriv', '--pdeathsig', 'INT', '--', 'tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '-Z', 'root', '-c', String(maxPackets), '-w', file];
  if (filter) args.push(filter);
  let child: ChildProcess;
  try {
    child = spawn('nsenter', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  track(dir, child);
  let stderr = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitWaiters: Array<() => void> = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 64_000) stderr += d; });
  child.on('exit', (code, signal) => { exited = { code, signal }; for (const w of exitWaiters.splice(0)) w(); });
  child.on('error', (err) => { stderr += `\n${err.message}`; exited = exited ?? { code: 127, signal: null }; for (const w of exitWaiters.splice(0)) w(); });
  const hardStop = setTimeout(() => { if (!exited) child.kill('SIGINT'); }, maxMs);
  hardStop.unref();
  const waitExit = (ms: number): Promise<boolean> => (exited ? Promise.resolve(true) : new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    exitWaiters.push(() => { clearTimeout(t); res(true); });
  }));

  // Wait (bounded) for "listening on IFACE": the filter is attached by then.
  const startMs = opts.startTimeoutMs ?? 5000;
  const t0 = Date.now();
  while (!/listening on /.test(stderr) && !exited && Date.now() - t0 < startMs) await sleep(5);
  if (!/listening on /.test(stderr)) {
    if (!exited) { child.kill('SIGKILL'); await waitExit(2000); }
    clearTimeout(hardStop);
    rmSync(dir, { recursive: true, force: true });
    active.delete(dir);
    const why = (stderr.trim().split('\n').filter((l) => l && !/^tcpdump: data link type/.test(l)).pop() ?? `no word within ${startMs} ms`)
      .replace(/^(tcpdump: )+/, '');
    if (/No such device|doesn't exist/i.test(why)) throw new UserError(`cannot capture on ${iface} in ${nsPath} (no such interface: ${why})`);
    if (filter && /syntax error|parse|illegal|unknown|invalid/i.test(why)) throw new UserError(`cannot capture on ${iface} (bad filter '${filter}': ${why})`);
    throw new Error(`cannot capture on ${iface} in ${nsPath} (tcpdump: ${why})`);
  }

  const readSoFar = (): Packet[] => {
    try { return parsePcap(readFileSync(file)).packets; } catch { return []; }
  };
  let result: Promise<CaptureResult> | undefined;
  return {
    iface,
    filter,
    packetsSoFar: readSoFar,
    async waitFor(pred, timeoutMs) {
      const end = Date.now() + Math.min(Math.max(0, timeoutMs), 60_000);
      for (let i = 0; i < 6000; i++) {
        if (pred(readSoFar())) return true;
        if (Date.now() >= end || exited) return pred(readSoFar());
        await sleep(10);
      }
      return false;
    },
    stop() {
      result ??= (async () => {
        try {
          if (!exited) {
            child.kill('SIGINT');
            if (!(await waitExit(3000))) { child.kill('SIGKILL'); await waitExit(2000); }
          }
          clearTimeout(hardStop);
          let pcap: Buffer;
          try { pcap = readFileSync(file); } catch { pcap = Buffer.alloc(0); }
          const parsed = pcap.length >= 24 ? parsePcap(pcap) : { packets: [], linkType: 0 };
          const summary = stderr.split('\n').filter((l) => /packets? (captured|received|dropped)/.test(l)).join('; ');
          return { packets: parsed.packets, pcap, linkType: parsed.linkType, summary };
        } finally {
          rmSync(dir, { recursive: true, force: true });
          active.delete(dir);
        }
      })();
      return result;
    },
  };
}
