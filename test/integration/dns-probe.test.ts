// The DNS query probe, packet capture and UDP counters on a real lab (test/fixtures/labs/dnsprobe.yaml):
// a netns client asks NSD (authoritative) and Unbound (bound to 0.0.0.0, so it answers from the wrong
// address) in a Debian container. Proves seed 001's story: a reply whose UDP checksum was rewritten to a
// wrong value reaches the client's interface (the capture shows 0x1234) but never its socket (timeout),
// and the client's Udp InCsumErrors rises by exactly one. Afterwards nothing of ours is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { discoverLab } from '../../src/lab/discover.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { labId } from '../../src/topology/naming.js';
import { dnsQuery, type DnsQuery, type DnsResult } from '../../src/probes/dns.js';
import { parsePcap, startCapture } from '../../src/probes/capture.js';
import { describeUdpDiff, diffUdp, udpCounters, UDP_FIELDS } from '../../src/probes/snmp.js';
import { run, runOk } from '../../src/util/exec.js';

// Capture files go to the temporary folder: this test gets one of its own, since other runs on the machine
// create and remove theirs meanwhile.
const TMP = mkdtempSync(join(tmpdir(), 'tsunagari-dnsprobe-'));
process.env.TMPDIR = TMP;
const ctx = new Context();
const LAB = 'dnsprobe';
const FILE = 'test/fixtures/labs/dnsprobe.yaml';
const NSD = '10.53.1.53';
const NSD6 = 'fd00:53:1::53';
const ALIAS = '10.53.1.54';     // second address of the server; Unbound answers queries to it from NSD
const SOA = 'ns1.probe.test. hostmaster.probe.test. 2024010101 3600 900 604800 60';
let running: RunningLab;
let client = '';
let server = '';
let serverPid = 0;
let mark0: Trace;
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };

interface Trace { netns: string[]; links: string[]; nft: string[]; captures: string[]; }
async function trace(): Promise<Trace> {
  const id = labId(LAB);
  const links = (JSON.parse(await runOk('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>)
    .map((l) => l.ifname).filter((n) => n.startsWith(`t${id}`)).sort();
  const netns = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] as string)
    .filter((n) => n.startsWith(`tsunagari-${LAB}.`)).sort();
  const nft = (await runOk('nft', ['list', 'tables'])).split('\n').filter((l) => l.includes('dnsprobe')).sort();
  const captures = readdirSync(TMP).filter((n) => n.startsWith('tsunagari-capture-')).sort();
  return { netns, links, nft, captures };
}

const nsRun = (ns: string, argv: string[], input?: string) => run('nsenter', [`--net=${ns}`, ...argv], { timeoutMs: 20000, input });

/** An nftables table in the server's namespace (host nft via nsenter: no docker exec), removed by the returned function. */
async function serverRule(rule: string): Promise<() => Promise<void>> {
  const r = await nsRun(server, ['nft', '-f', '-'], `table inet dnsprobe_test {\n chain out {\n  type filter hook output priority 0;\n  ${rule}\n }\n}\n`);
  assert.equal(r.code, 0, r.stderr);
  return async () => { await nsRun(server, ['nft', 'delete', 'table', 'inet', 'dnsprobe_test']); };
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number; };

async function timed(q: DnsQuery, capture: boolean, n: number): Promise<{ inside: number; wall: number; last: DnsResult }> {
  const inside: number[] = []; const wall: number[] = [];
  let last: DnsResult | undefined;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    last = await dnsQuery(client, q, capture ? { capture: {} } : {});
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    assert.equal(last.ok, true, JSON.stringify(last));
    inside.push(last.latencyMs ?? NaN);
  }
  return { inside: median(inside), wall: median(wall), last: last as DnsResult };
}

before(async () => {
  if (Ledger.read(LAB)) await teardown(ctx, LAB);   // only our own lab, left by an interrupted run
  mark0 = await trace();
  await up(ctx, await loadTopology(FILE));          // exec lines wait (bounded) until NSD and Unbound answer
  running = openLab(ctx, LAB);
  client = (await running.handle('client')).netnsPath;
  const h = await running.handle('server');
  server = h.netnsPath;
  serverPid = h.pid ?? 0;
});

after(async () => {
  await teardown(ctx, LAB);
  assert.equal((await discoverLab(ctx, LAB)).count, 0);
  assert.deepEqual(await trace(), mark0, 'nothing of the dnsprobe lab, its nft tables or capture files is left');
  rmSync(TMP, { recursive: true, force: true });
});

test('A record from the authoritative server: exact data and TTL, AA set, RA not, reply from where we asked', async () => {
  const r = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A' });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.rcode, 'NOERROR');
  assert.deepEqual(r.answers, [{ name: 'www.probe.test.', type: 'A', klass: 'IN', ttl: 3600, data: '192.0.2.80' }]);
  assert.equal(r.flags?.aa, true, 'authoritative');
  assert.equal(r.flags?.ra, false, 'NSD does not recurse');
  assert.equal(r.flags?.rd, true, 'RD echoed');
  assert.deepEqual(r.from, { address: NSD, port: 53 });
  assert.equal(r.unexpectedSource, undefined);
  assert.equal(r.edns?.udpSize !== undefined, true, 'NSD answers EDNS with EDNS');
  assert.deepEqual(r.authorities, [{ name: 'probe.test.', type: 'NS', klass: 'IN', ttl: 300, data: 'ns1.probe.test.' }]);
  assert.ok(r.additionals.some((a) => a.type === 'A' && a.data === NSD), 'glue for ns1');
});

test('other types: AAAA, MX, CNAME, TXT in presentation form; over IPv6 too', async () => {
  const aaaa = await dnsQuery(client, { server: NSD6, name: 'www.probe.test', type: 'AAAA' });
  assert.deepEqual(aaaa.answers, [{ name: 'www.probe.test.', type: 'AAAA', klass: 'IN', ttl: 300, data: '2001:db8::80' }]);
  assert.deepEqual(aaaa.from, { address: NSD6, port: 53 });
  const mx = await dnsQuery(client, { server: NSD, name: 'probe.test', type: 'mx' });
  assert.deepEqual(mx.answers.map((a) => a.data), ['10 mail.probe.test.']);
  const cname = await dnsQuery(client, { server: NSD, name: 'alias.probe.test.', type: 'A' });
  assert.deepEqual(cname.answers.map((a) => `${a.name} ${a.type} ${a.data}`), ['alias.probe.test. CNAME www.probe.test.', 'www.probe.test. A 192.0.2.80']);
  const txt = await dnsQuery(client, { server: NSD, name: 'txt.probe.test', type: 'TXT', edns: false });
  assert.deepEqual(txt.answers.map((a) => a.data), ['"hello world" "second string"']);
  assert.equal(txt.edns, undefined, 'no EDNS asked, none answered');
  const soa = await dnsQuery(client, { server: NSD, name: 'probe.test', type: 'SOA', rd: false });
  assert.equal(soa.answers[0]?.data, SOA);
  assert.equal(soa.flags?.rd, false);
});

test('NXDOMAIN: the rcode, no answers, the SOA in the authority section', async () => {
  const r = await dnsQuery(client, { server: NSD, name: 'nope.probe.test', type: 'A' });
  assert.equal(r.ok, true);
  assert.equal(r.rcode, 'NXDOMAIN');
  assert.deepEqual(r.answers, []);
  assert.equal(r.flags?.aa, true);
  assert.deepEqual(r.authorities.map((a) => [a.type, a.data]), [['SOA', SOA]]);
  const refused = await dnsQuery(client, { server: NSD, name: 'elsewhere.test', type: 'A' });
  assert.equal(refused.rcode, 'REFUSED', 'not NSD\'s zone');
});

test('TCP: asked directly, and as the retry of a truncated UDP reply (both kept)', async () => {
  const tcp = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A', tcp: true });
  assert.deepEqual([tcp.ok, tcp.transport, tcp.rcode], [true, 'tcp', 'NOERROR']);
  assert.deepEqual(tcp.answers.map((a) => a.data), ['192.0.2.80']);
  assert.deepEqual(tcp.from, { address: NSD, port: 53 });
  const big = await dnsQuery(client, { server: NSD, name: 'big.probe.test', type: 'TXT' }, { capture: {} });
  assert.equal(big.transport, 'tcp');
  assert.equal(big.answers.length, 20);
  assert.equal(big.answers[19]?.data, '"record 20 ........................................"');
  assert.equal(big.truncatedUdp?.flags?.tc, true);
  assert.equal(big.truncatedUdp?.transport, 'udp');
  assert.equal(big.truncatedUdp?.wire?.replies.length, 1, 'the TC reply on the wire');
  assert.ok((big.wire?.replies.length ?? 0) >= 1, 'TCP segments carrying the reply');
  assert.ok((big.wire?.replies ?? []).reduce((n, s) => n + s.length, 0) > 1232, 'more than the EDNS size came over TCP');
  const kept = await dnsQuery(client, { server: NSD, name: 'big.probe.test', type: 'TXT', tcpOnTruncation: false });
  assert.deepEqual([kept.transport, kept.flags?.tc, kept.truncatedUdp], ['udp', true, undefined]);
  assert.ok(kept.answers.length < 20);
});

test('latency through the runner: UDP and TCP, with and without capture (measured, loosely bounded)', async () => {
  const q = { server: NSD, name: 'www.probe.test', type: 'A' };
  await dnsQuery(client, q);   // warm caches (ARP, page cache)
  const udp = await timed(q, false, 10);
  const tcp = await timed({ ...q, tcp: true }, false, 10);
  const udpCap = await timed(q, true, 5);
  const tcpCap = await timed({ ...q, tcp: true }, true, 5);
  log(`dnsQuery UDP: ${udp.inside} ms in the namespace, ${udp.wall.toFixed(1)} ms per call (median of 10)`);
  log(`dnsQuery TCP: ${tcp.inside} ms in the namespace (connect included), ${tcp.wall.toFixed(1)} ms per call (median of 10)`);
  log(`dnsQuery UDP + capture: ${udpCap.inside} ms in the namespace, ${udpCap.wall.toFixed(1)} ms per call (median of 5)`);
  log(`dnsQuery TCP + capture: ${tcpCap.inside} ms in the namespace, ${tcpCap.wall.toFixed(1)} ms per call (median of 5)`);
  assert.ok(udp.inside < 100 && tcp.inside < 200, 'a veth away');
  assert.ok(udp.wall < 2000 && udpCap.wall < 4000, 'process start dominates, but bounded');
  assert.equal(udpCap.last.wire?.replies.length, 1);
  assert.equal(tcpCap.last.wire?.queries.length, 1, 'the framed query in one segment');
});

test('capture: the reply arriving on the client, its UDP checksum as sent (offload off on the server)', async () => {
  const r = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A' }, { capture: { iface: 'eth1' } });
  assert.equal(r.ok, true);
  const w = r.wire!;
  assert.equal(w.queries.length, 1);
  assert.equal(w.replies.length, 1);
  const reply = w.replies[0]!;
  assert.equal(typeof reply.udpChecksum, 'number');
  assert.notEqual(reply.udpChecksum, 0);
  assert.equal(reply.udpChecksum, reply.udpChecksumExpected, 'filled in by the server\'s kernel: tx offload is off there');
  assert.deepEqual([reply.from, reply.to], [{ address: NSD, port: 53 }, { address: '10.53.1.10', port: r.local?.port }]);
  assert.ok(reply.length > 8);
  log(`reply ${reply.from.address}:${reply.from.port} → :${reply.to.port}, UDP checksum 0x${reply.udpChecksum!.toString(16).padStart(4, '0')}, length ${reply.length}`);
  // The pcap is kept for reports and parses to the same packets; on eth1 it is Ethernet.
  const parsed = parsePcap(r.pcap!);
  assert.equal(parsed.linkType, 1);
  assert.ok(parsed.packets.some((p) => p.proto === 'udp' && p.udpChecksum === reply.udpChecksum));
  // On `any`: Linux cooked v2, with directions.
  const any = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A' }, { capture: {} });
  assert.equal(parsePcap(any.pcap!).linkType, 276);
  assert.deepEqual([any.wire?.queries[0]?.direction, any.wire?.replies[0]?.direction], ['out', 'host']);
});

test('startCapture: waits until listening, stops with SIGINT, names a missing interface', async () => {
  const t0 = Date.now();
  const cap = await startCapture(client, { iface: 'eth1', filter: 'udp port 53' });
  const startMs = Date.now() - t0;
  await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A' });
  const t1 = Date.now();
  const res = await cap.stop();
  log(`tcpdump listening after ${startMs} ms, stopped in ${Date.now() - t1} ms; ${res.summary}`);
  assert.equal(res.packets.length, 2, 'query and reply');
  assert.match(res.summary, /2 packets captured/);
  assert.equal(await cap.stop(), await cap.stop(), 'idempotent');
  await assert.rejects(startCapture(client, { iface: 'eth9' }), /^UserError: cannot capture on eth9 in .* \(no such interface/);
  await assert.rejects(startCapture(client, { filter: 'udp port banana' }), /^UserError: cannot capture on any \(bad filter 'udp port banana': unknown port 'banana'\)$/);
  await assert.rejects(startCapture(client, { filter: 'host ns1.probe.test' }), /names host 'ns1\.probe\.test'; tcpdump would resolve it/);
});

test('udpCounters: /proc/net/snmp read inside the namespace (same as /proc/PID/net/snmp); a query moves them by one', async () => {
  const viaNsenter = await udpCounters(server);
  const direct = (await runOk('cat', [`/proc/${serverPid}/net/snmp`])).split('\n').filter((l) => l.startsWith('Udp: '));
  const names = (direct[0] as string).split(/\s+/).slice(1);
  const values = (direct[1] as string).split(/\s+/).slice(1).map(Number);
  assert.deepEqual(UDP_FIELDS.map((f) => viaNsenter.udp[f]), UDP_FIELDS.map((f) => values[names.indexOf(f)]), 'cat via nsenter reads the entered namespace');
  assert.ok(viaNsenter.udp.InDatagrams > 0, 'the server has answered queries');
  for (const f of UDP_FIELDS) assert.ok(Number.isInteger(viaNsenter.udp[f]) && viaNsenter.udp[f] >= 0, f);
  const before = await udpCounters(client);
  const r = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A' });
  assert.equal(r.ok, true);
  const d = diffUdp(before, await udpCounters(client));
  assert.deepEqual([d.udp.OutDatagrams, d.udp.InDatagrams, d.udp.InErrors, d.udp.InCsumErrors], [1, 1, 0, 0], describeUdpDiff(d.udp));
  const before6 = await udpCounters(client);
  await dnsQuery(client, { server: NSD6, name: 'www.probe.test', type: 'A' });
  const d6 = diffUdp(before6, await udpCounters(client));
  assert.deepEqual([d6.udp6.OutDatagrams, d6.udp6.InDatagrams, d6.udp.InDatagrams], [1, 1, 0], 'Udp6 counted apart');
});

test('seed 001: a reply with a wrong UDP checksum reaches eth1 (capture: 0x1234) but not the socket (timeout); InCsumErrors +1', async () => {
  const undo = await serverRule('udp sport 53 udp checksum set 0x1234');
  let r: DnsResult;
  let d;
  try {
    const before = await udpCounters(client);
    r = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A', timeoutMs: 1000 }, { capture: { iface: 'eth1' } });
    d = diffUdp(before, await udpCounters(client));
  } finally {
    await undo();
  }
  assert.deepEqual([r.ok, r.error], [false, 'timeout'], JSON.stringify(r));
  assert.equal(r.wire?.replies.length, 1, 'the reply did arrive on the interface');
  const reply = r.wire!.replies[0]!;
  assert.equal(reply.udpChecksum, 0x1234);
  assert.notEqual(reply.udpChecksumExpected, 0x1234, 'and it is wrong');
  assert.deepEqual(reply.from, { address: NSD, port: 53 });
  assert.equal(d.udp.InCsumErrors, 1, describeUdpDiff(d.udp));
  assert.equal(d.udp.InErrors, 1);
  assert.equal(d.udp.InDatagrams, 0, 'never delivered');
  log(`bad checksum: ${r.error} after ${r.query.timeoutMs} ms; wire: reply from ${reply.from.address} with UDP checksum 0x${reply.udpChecksum!.toString(16)} `
    + `(should be 0x${reply.udpChecksumExpected!.toString(16)}); client Udp ${describeUdpDiff(d.udp)}`);
  const again = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A' });
  assert.equal(again.ok, true, 'rule removed: answers again');
});

test('the same rule with tx offload on at the server lies: the wire shows 0x1234 yet the reply is accepted', async () => {
  assert.equal((await nsRun(server, ['ethtool', '-K', 'eth1', 'tx', 'on'])).code, 0);
  let r: DnsResult;
  let d;
  try {
    const undo = await serverRule('udp sport 53 udp checksum set 0x1234');
    try {
      const before = await udpCounters(client);
      r = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A', timeoutMs: 1000 }, { capture: { iface: 'eth1' } });
      d = diffUdp(before, await udpCounters(client));
    } finally {
      await undo();
    }
  } finally {
    assert.equal((await nsRun(server, ['ethtool', '-K', 'eth1', 'tx', 'off'])).code, 0);
  }
  assert.equal(r.ok, true, 'veth passes the packet as "checksum partial": the receiver does not verify it');
  assert.equal(r.wire?.replies[0]?.udpChecksum, 0x1234);
  assert.equal(d.udp.InCsumErrors, 0);
  log('tx offload on: reply with UDP checksum 0x1234 on the wire accepted (why tests that depend on checksums turn offload off)');
});

test('a UDP checksum of 0x0000 (none, legal over IPv4) is accepted and captured as 0', async () => {
  const undo = await serverRule('udp sport 53 udp checksum set 0');
  let r: DnsResult;
  try {
    r = await dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'A', timeoutMs: 1000 }, { capture: { iface: 'eth1' } });
  } finally {
    await undo();
  }
  assert.equal(r.ok, true, JSON.stringify(r.wire));
  assert.equal(r.wire?.replies[0]?.udpChecksum, 0);
  assert.deepEqual(r.answers.map((a) => a.data), ['192.0.2.80']);
});

test('reply from an unexpected source (Unbound on 0.0.0.0): received, from ≠ sentTo, seen on the wire', async () => {
  const r = await dnsQuery(client, { server: ALIAS, port: 5300, name: 'who.alias.test', type: 'A' }, { capture: {} });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.answers, [{ name: 'who.alias.test.', type: 'A', klass: 'IN', ttl: 60, data: '192.0.2.54' }]);
  assert.deepEqual(r.sentTo, { address: ALIAS, port: 5300 });
  assert.deepEqual(r.from, { address: NSD, port: 5300 });
  assert.notEqual(r.from?.address, r.sentTo.address);
  assert.equal(r.unexpectedSource, true);
  assert.equal(r.flags?.ra, true, 'Unbound is a resolver');
  assert.deepEqual([r.wire?.queries[0]?.to.address, r.wire?.replies[0]?.from.address], [ALIAS, NSD]);
  const direct = await dnsQuery(client, { server: NSD, port: 5300, name: 'who.alias.test', type: 'A' });
  assert.equal(direct.unexpectedSource, undefined, 'asked at its primary address it answers from it');
  const outside = await dnsQuery(client, { server: NSD, port: 5300, name: 'example.com', type: 'A' });
  assert.equal(outside.rcode, 'REFUSED', 'Unbound never recurses out of the lab');
});

test('no reply: a silent address and a closed port time out (bounded); the closed port\'s ICMP error is on the wire', async () => {
  const t0 = Date.now();
  const silent = await dnsQuery(client, { server: '10.53.1.99', name: 'www.probe.test', type: 'A', timeoutMs: 500 });
  assert.deepEqual([silent.ok, silent.error], [false, 'timeout']);
  assert.ok(Date.now() - t0 < 5000);
  const closed = await dnsQuery(client, { server: NSD, port: 5301, name: 'www.probe.test', type: 'A', timeoutMs: 500 }, { capture: {} });
  assert.deepEqual([closed.ok, closed.error], [false, 'timeout'], 'an unconnected UDP socket is not told about ICMP errors');
  assert.deepEqual(closed.wire?.icmp, [{ from: NSD, type: 3, code: 3 }], 'port unreachable, quoting our query');
  const tcpClosed = await dnsQuery(client, { server: NSD, port: 5301, name: 'www.probe.test', type: 'A', tcp: true, timeoutMs: 500 });
  assert.deepEqual([tcpClosed.ok, tcpClosed.error], [false, 'refused']);
});

test('refusals before anything is sent: a server name, an unknown type', async () => {
  await assert.rejects(dnsQuery(client, { server: 'ns1.probe.test', name: 'www.probe.test', type: 'A' }),
    /^UserError: cannot query DNS server 'ns1.probe.test' \(not an IP address\)/);
  await assert.rejects(dnsQuery(client, { server: NSD, name: 'www.probe.test', type: 'AAA' }),
    /^UserError: unknown DNS record type 'AAA'; known: A, AAAA,/);
});
