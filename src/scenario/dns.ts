// Owns the DNS steps of a scenario: one query at a time (captured on the asking host's wire, with its
// UDP counters before and after), checks on the reply, and the diagnosis a failing DNS step gives:
// dropped for a bad checksum, reply from an unexpected source, nothing listening, or where the query
// stopped travelling. Must not import Cucumber.
import type { Target } from '../lab/targets.js';
import { dnsQuery, rcodeOf, rcodeName, sameAddress, type DnsQuery, type DnsRecord, type DnsResult, type WireDatagram } from '../probes/dns.js';
import { startCapture, PCAP_MEDIA_TYPE, type Capture } from '../probes/capture.js';
import { udpCounters, diffUdp, describeUdpDiff, type UdpSnmp } from '../probes/snmp.js';
import { mapLimit } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { formatMs, unquote } from './params.js';
import { CheckFailed } from './check.js';
import type { Scenario } from './session.js';

/** How long a query waits for its reply (a TC retry over TCP gets as long again). */
export const DNS_TIMEOUT_MS = 3000;

interface Outcome {
  host: string;
  target: Target;
  result: DnsResult;
  before: UdpSnmp;
  after: UdpSnmp;
  trace?: string;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
const stripDot = (s: string): string => (s.length > 1 ? s.replace(/\.$/, '') : s);

export class DnsSteps {
  private last?: Outcome;
  constructor(private readonly s: Scenario) {}

  async ask(host: string, target: Target, qtype: string, domain: string, tcp: boolean): Promise<void> {
    const ns = (await this.s.requireLab().handle(host)).netnsPath;
    const q: DnsQuery = { server: target.address, name: unquote(domain), type: qtype, tcp, timeoutMs: DNS_TIMEOUT_MS };
    const before = await udpCounters(ns);
    const result = await dnsQuery(ns, q, { capture: {} });
    const after = await udpCounters(ns);
    this.last = { host, target, result, before, after };
    const r = result;
    const summary = r.ok
      ? `${host} → ${target.label} ${qtype} ${q.name} over ${r.transport.toUpperCase()}${r.truncatedUdp ? ' (UDP reply truncated, retried over TCP)' : ''}: ` +
        `${r.rcode} from ${r.from?.address}:${r.from?.port} in ${r.latencyMs?.toFixed(1)} ms; flags ${flagText(r)}\n` +
        (r.answers.map(recordText).join('\n') || '(no answer records)')
      : `${host} → ${target.label} ${qtype} ${q.name}: no reply (${r.error ?? 'failed'})`;
    await this.s.attach(summary, 'text/plain');
  }

  private outcome(): Outcome {
    if (!this.last) {
      throw new UserError('no DNS query yet in this scenario', 'ask first: `When client asks dns for the A record of www.example.test` / `もし client が dns に www.example.test の A レコードを問い合わせる`');
    }
    return this.last;
  }

  /** The reply a resolver or dig would accept; otherwise fail with the diagnosis. */
  private async accepted(what: string): Promise<DnsResult> {
    const o = this.outcome();
    const r = o.result;
    if (r.ok && !r.unexpectedSource && !r.questionMismatch && r.rcode) return r;
    await this.fail(`${what}: ${await this.diagnose(o)}`);
    throw new Error('unreachable');
  }

  async rcode(name: string): Promise<void> {
    const want = rcodeName(rcodeOf(name));
    const r = await this.accepted(`expected response code ${want}`);
    if (r.rcode !== want) await this.fail(`the DNS response code is ${r.rcode}, expected ${want}\n${answerText(r)}`);
  }

  async answerContains(value: string): Promise<void> {
    const v = unquote(value);
    const r = await this.accepted(`expected ${v} in the answer`);
    if (!findRecords(r, v).length) await this.fail(`the answer does not contain ${v}:\n${answerText(r)}`);
  }

  async answerExactly(rows: string[][]): Promise<void> {
    const r = await this.accepted('expected an exact answer');
    const [head, ...body] = rows;
    const cols = (head ?? []).map((h) => COLUMN[h.trim().toLowerCase()]);
    const bad = (head ?? []).filter((_, i) => !cols[i]);
    if (!head || bad.length || !cols.includes('data')) {
      throw new UserError(`cannot read the answer table (columns ${head?.join(', ') ?? 'none'})`, 'use columns name, type, ttl, data (名前, タイプ, TTL, 値); data is required');
    }
    const key = (rec: Partial<Record<Col, string>>): string => cols.map((c) => (c === 'name' || c === 'data' ? stripDot(rec[c as Col] ?? '') : rec[c as Col] ?? '').toLowerCase()).join(' | ');
    const want = body.map((row) => key(Object.fromEntries(cols.map((c, i) => [c, unquote(row[i] ?? '')]))))?.sort();
    const got = r.answers.map((a) => key({ name: a.name, type: a.type, ttl: String(a.ttl), data: a.data })).sort();
    if (want.join('\n') !== got.join('\n')) {
      await this.fail(`the answer differs:\nexpected:\n  ${want.join('\n  ') || '(nothing)'}\ngot:\n  ${got.join('\n  ') || '(nothing)'}`);
    }
  }

  async ttlAtMost(value: string, max: number): Promise<void> {
    const v = unquote(value);
    const r = await this.accepted(`expected ${v} with a TTL of at most ${max}`);
    const recs = findRecords(r, v);
    if (!recs.length) await this.fail(`the answer does not contain ${v}:\n${answerText(r)}`);
    const over = recs.filter((x) => x.ttl > max);
    if (over.length) await this.fail(`the TTL of ${v} is ${over.map((x) => x.ttl).join(', ')}, more than ${max}`);
  }

  async authoritative(): Promise<void> {
    const r = await this.accepted('expected an authoritative answer');
    if (!r.flags?.aa) await this.fail(`the answer is not authoritative (flags ${flagText(r)}) — from ${r.from?.address}`);
  }

  async replyFrom(target: Target): Promise<void> {
    const o = this.outcome();
    const r = o.result;
    if (!r.ok || !r.from) await this.fail(`no reply reached ${o.host}: ${await this.diagnose(o)}`);
    if (!sameAddress(r.from?.address ?? '', target.address)) {
      await this.fail(`the reply came from ${r.from?.address}, not from ${target.label} (the query went to ${r.sentTo.address})`);
    }
  }

  async noReplyWithin(ms: number): Promise<void> {
    const o = this.outcome();
    if (ms > DNS_TIMEOUT_MS) throw new UserError(`cannot wait ${formatMs(ms)} for a reply (a query waits ${formatMs(DNS_TIMEOUT_MS)})`, `use at most ${formatMs(DNS_TIMEOUT_MS)}`);
    const r = o.result;
    if (r.ok && (r.latencyMs ?? 0) <= ms) {
      await this.fail(`a reply (${r.rcode}) arrived after ${r.latencyMs?.toFixed(1)} ms, within ${formatMs(ms)}, from ${r.from?.address}`);
    }
  }

  async checksum(value: number): Promise<void> {
    const o = this.outcome();
    const replies = this.repliesOnWire(o);
    if (!replies.length) await this.fail(`no reply was seen on ${o.host}'s interface: ${await this.diagnose(o)}`);
    const udp = replies.filter((p) => p.transport === 'udp');
    if (!udp.length) await this.fail(`the reply came over TCP, which has no UDP checksum`);
    const wrong = udp.filter((p) => p.udpChecksum !== value);
    if (wrong.length) {
      await this.fail(`the reply arrived with UDP checksum ${wrong.map((p) => hex(p.udpChecksum ?? -1)).join(', ')}, expected ${hex(value)}`);
    }
  }

  async badChecksum(): Promise<void> {
    const o = this.outcome();
    const r = o.result;
    if (r.ok) await this.fail(`the lookup did not fail: ${r.rcode} from ${r.from?.address} in ${r.latencyMs?.toFixed(1)} ms`);
    const bad = this.badReplies(o);
    const csum = diffUdp(o.before, o.after).udp.InCsumErrors;
    if (!bad.length || csum < 1) await this.fail(`the lookup failed, but not because of a bad UDP checksum: ${await this.diagnose(o)}`);
    await this.s.attach(await this.diagnose(o), 'text/plain');
  }

  // ---- diagnosis ----------------------------------------------------------------------------

  private repliesOnWire(o: Outcome): WireDatagram[] {
    return (o.result.wire?.replies ?? []).filter((p) => p.direction !== 'out');
  }

  private badReplies(o: Outcome): WireDatagram[] {
    return this.repliesOnWire(o).filter((p) => p.transport === 'udp' && p.udpChecksum !== 0 &&
      p.udpChecksumExpected !== undefined && p.udpChecksum !== p.udpChecksumExpected);
  }

  /** One sentence (or a few lines) on why there is no acceptable reply, from the evidence. */
  async diagnose(o: Outcome): Promise<string> {
    const r = o.result;
    const dst = `${r.sentTo.address}:${r.sentTo.port}`;
    const diff = diffUdp(o.before, o.after);
    if (r.ok && r.unexpectedSource) {
      return `a reply came from ${r.from?.address}:${r.from?.port} but the query went to ${dst} (dig: "reply from unexpected source"; resolvers drop such replies)`;
    }
    if (r.ok && r.questionMismatch) return `the reply answers another question (${r.questionMismatch})`;
    if (r.ok && !r.rcode) return `the reply could not be read (${r.error ?? 'malformed'})`;
    const bad = this.badReplies(o);
    if (bad.length) {
      const p = bad[0] as WireDatagram;
      return `reply reached ${o.host} but the kernel dropped it: UDP checksum ${hex(p.udpChecksum ?? 0)} is wrong ` +
        `(should be ${hex(p.udpChecksumExpected ?? 0)}; ${describeUdpDiff(diff.udp) || 'Udp counters unchanged'})`;
    }
    const seen = this.repliesOnWire(o);
    if (seen.length) {
      return `a reply from ${seen[0]?.from.address} was seen on ${o.host}'s interface but never reached the asking socket (${describeUdpDiff(diff.udp) || 'Udp counters unchanged'})`;
    }
    const icmp = r.wire?.icmp ?? [];
    if (icmp.some((i) => i.type === 3 && i.code === 3) || r.error === 'refused') {
      return `nothing listens on ${dst}: ${icmp[0]?.from ?? r.sentTo.address} answered "port unreachable"`;
    }
    if (icmp.length) return `the query was answered by ICMP type ${icmp[0]?.type} code ${icmp[0]?.code} from ${icmp[0]?.from}`;
    o.trace ??= await this.trace(o);
    return `no reply seen on ${o.host}'s interface within ${formatMs(DNS_TIMEOUT_MS)} (${r.error ?? 'timeout'}); ${o.trace}`;
  }

  /** Asks again with a capture on every node of the lab: where did the query (and reply) get to? */
  private async trace(o: Outcome): Promise<string> {
    const lab = this.s.requireLab();
    const nodes = lab.lab.nodes.map((n) => n.name);
    const captures = await mapLimit(nodes, 4, async (n): Promise<[string, Capture | undefined]> => {
      try {
        return [n, await startCapture((await lab.handle(n)).netnsPath, { filter: `port ${o.result.sentTo.port}`, maxMs: 20000 })];
      } catch { return [n, undefined]; }
    });
    // The captures stop below whatever the query does (they also stop by themselves after maxMs).
    const q = o.result.query;
    await dnsQuery((await lab.handle(o.host)).netnsPath, { ...q, timeoutMs: 2000, tcpOnTruncation: false }).catch(() => undefined);
    const seenQuery: string[] = [];
    const seenReply: string[] = [];
    for (const [n, c] of captures) {
      if (!c) continue;
      const { packets } = await c.stop();
      if (packets.some((p) => p.dstPort === o.result.sentTo.port)) seenQuery.push(n);
      if (packets.some((p) => p.srcPort === o.result.sentTo.port)) seenReply.push(n);
    }
    const notSeen = nodes.filter((n) => !seenQuery.includes(n));
    return `asked again with captures on every node: the query was seen at ${seenQuery.join(', ') || 'no node'}` +
      `${notSeen.length ? ` but not at ${notSeen.join(', ')}` : ''}; a reply at ${seenReply.join(', ') || 'no node'}`;
  }

  /** Fails the step with evidence: the message, and the capture attached to the report. */
  private async fail(message: string): Promise<never> {
    const pcap = this.last?.result.pcap;
    if (pcap?.length) await this.s.attach(pcap, PCAP_MEDIA_TYPE);
    throw new CheckFailed(message);
  }
}

type Col = 'name' | 'type' | 'ttl' | 'data';
const COLUMN: Record<string, Col> = {
  name: 'name', type: 'type', ttl: 'ttl', data: 'data', value: 'data',
  '名前': 'name', 'タイプ': 'type', '種別': 'type', '型': 'type', '値': 'data', 'データ': 'data',
};

function flagText(r: DnsResult): string {
  const f = r.flags;
  if (!f) return '-';
  return (['aa', 'tc', 'rd', 'ra', 'ad', 'cd'] as const).filter((k) => f[k]).join(' ') || '(none)';
}

function recordText(a: DnsRecord): string {
  return `${a.name} ${a.ttl} ${a.klass} ${a.type} ${a.data}`;
}

function answerText(r: DnsResult): string {
  return r.answers.length ? r.answers.map(recordText).join('\n') : '(no answer records)';
}

/** Records whose data is the value ("198.51.100.80", "mail.example.test", "10 mail.example.test")
 *  or whose "TYPE data" is ("MX 10 mail.example.test"). Names compare without the trailing dot. */
export function findRecords(r: Pick<DnsResult, 'answers'>, value: string): DnsRecord[] {
  const norm = (s: string): string => s.trim().split(/\s+/).map(stripDot).join(' ').toLowerCase();
  const v = norm(value);
  return r.answers.filter((a) => norm(a.data) === v || norm(`${a.type} ${a.data}`) === v || norm(a.data.replace(/^"(.*)"$/, '$1')) === v);
}
