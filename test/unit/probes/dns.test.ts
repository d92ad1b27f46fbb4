// The pure parts of the DNS probe: names of types, classes and rcodes checked against dns-packet's tables
// (unknown ones throw, never become NOERROR), query defaults and encoding (flags, EDNS OPT with name '.',
// DO bit, options, numeric types and classes), reply decoding into presentation-form records, the
// unexpected-source comparison, the TC-retry result shape, and picking an exchange's packets from a capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import {
  canonicalIp, decodeReply, encodeQuery, exchangeResult, normalizeQuery, qclassOf, qtypeOf, rcodeOf, rcodeName, resultOf,
  sameAddress, wireOf, type RunnerExchange, type SentQuery,
} from '../../../src/probes/dns.js';
import type { Packet } from '../../../src/probes/capture.js';

test('qtypeOf: names from dns-packet\'s table, any case, TYPEnnn; an unknown name lists the known ones', () => {
  assert.equal(qtypeOf('A'), 1);
  assert.equal(qtypeOf('aaaa'), 28);
  assert.equal(qtypeOf('ANY'), 255);
  assert.equal(qtypeOf('TYPE65'), 65);
  assert.equal(qtypeOf('type65535'), 65535);
  assert.throws(() => qtypeOf('AAA'), (e: Error) => e.name === 'UserError'
    && /^unknown DNS record type 'AAA'; known: A, AAAA, AFSDB, ANY, APL, AXFR, CAA, .*, TSIG, TXT; hint: or TYPEnnn for a type by number$/.test(e.message));
  assert.throws(() => qtypeOf('TYPE0'), /unknown DNS record type 'TYPE0'/);
  assert.throws(() => qtypeOf('TYPE65536'), /unknown DNS record type/);
  assert.throws(() => qtypeOf('UNKNOWN_5'), /unknown DNS record type 'UNKNOWN_5'/, 'dns-packet\'s own spelling is not ours');
  assert.throws(() => qtypeOf(''), /unknown DNS record type ''/);
});

test('qclassOf and rcodeOf: unknown names throw (dns-packet would have said 0 = NOERROR)', () => {
  assert.equal(qclassOf('in'), 1);
  assert.equal(qclassOf('CH'), 3);
  assert.equal(qclassOf('CLASS254'), 254);
  assert.throws(() => qclassOf('INET'), /^UserError: unknown DNS class 'INET'; known: IN, CS, CH, HS, ANY; hint: or CLASSnnn/);
  assert.equal(rcodeOf('NOERROR'), 0);
  assert.equal(rcodeOf('nxdomain'), 3);
  assert.equal(rcodeOf('REFUSED'), 5);
  assert.equal(rcodeOf('BADVERS'), 16);
  assert.equal(rcodeOf('RCODE_12'), 12);
  assert.throws(() => rcodeOf('BOGUS'), (e: Error) => e.name === 'UserError'
    && e.message.startsWith("unknown DNS response code 'BOGUS'; known: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN"));
  assert.throws(() => rcodeOf('NXDOMIAN'), /unknown DNS response code 'NXDOMIAN'/);
  assert.equal(rcodeName(3), 'NXDOMAIN');
  assert.equal(rcodeName(16), 'BADVERS');
  assert.equal(rcodeName(99), 'RCODE_99');
});

test('normalizeQuery: defaults, and refusals that name the problem (servers must be IP literals)', () => {
  const q = normalizeQuery({ server: '10.53.1.53', name: 'www.probe.test', type: 'a', id: 7 });
  assert.deepEqual(q, {
    server: '10.53.1.53', port: 53, name: 'www.probe.test.', type: 'A', klass: 'IN', tcp: false, rd: true, cd: false, do: false,
    edns: { udpSize: 1232, options: [] }, timeoutMs: 2000, tcpOnTruncation: true, id: 7,
  });
  const r = normalizeQuery({ server: 'fd00:53:1::53', name: '.', type: 'NS' });
  assert.equal(r.name, '.');
  assert.ok(r.id >= 0 && r.id <= 65535);
  assert.throws(() => normalizeQuery({ server: 'ns1.example.com', name: 'x', type: 'A' }),
    /^UserError: cannot query DNS server 'ns1.example.com' \(not an IP address\); hint: probes never resolve names/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'a..b', type: 'A' }), /cannot query 'a..b' \(empty label\)/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: `${'x'.repeat(64)}.test`, type: 'A' }), /is 64 bytes; at most 63/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: Array(60).fill('abcd').join('.'), type: 'A' }), /bytes on the wire; at most 255/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'x', type: 'A', do: true, edns: false }), /DO bit \(it lives in the EDNS OPT record/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'x', type: 'A', timeoutMs: 0 }), /timeout 0 ms is not 1\.\.60000/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'x', type: 'A', port: 0 }), /port 0 is not 1\.\.65535/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'x', type: 'A', edns: { udpSize: 100 } }), /EDNS UDP size 100 is not 512\.\.65535/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'x', type: 'A', edns: { options: [{ code: 10, data: 'xyz' }] } }), /option 10 data 'xyz' is not hex/);
  assert.throws(() => normalizeQuery({ server: '10.0.0.1', name: 'x', type: 'AAA' }), /unknown DNS record type 'AAA'/);
});

test('encodeQuery: header flags, the question, and the EDNS OPT record (root name, size, DO bit, options)', () => {
  const q = normalizeQuery({ server: '10.0.0.1', name: 'www.probe.test', type: 'AAAA', id: 0x1234, cd: true, do: true,
    edns: { udpSize: 4000, options: [{ code: 10, data: '0102030405060708' }, { code: 3 }] } });
  const buf = encodeQuery(q);
  assert.equal(buf.readUInt16BE(0), 0x1234);
  assert.equal(buf.readUInt16BE(2), 0x0110, 'RD and CD, QR=0, opcode QUERY');
  assert.deepEqual([buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)], [1, 0, 0, 1]);
  const p = dnsPacket.decode(buf) as unknown as { questions: Array<{ name: string; type: string; class: string }>; additionals: Array<Record<string, unknown>> };
  assert.deepEqual(p.questions, [{ name: 'www.probe.test', type: 'AAAA', class: 'IN' }]);
  const opt = p.additionals[0]!;
  assert.equal(opt.name, '.');
  assert.equal(opt.type, 'OPT');
  assert.equal(opt.udpPayloadSize, 4000);
  assert.equal(opt.flag_do, true);
  assert.equal(opt.flags, 0x8000);
  assert.deepEqual((opt.options as Array<{ code: number; data: Buffer }>).map((o) => [o.code, o.data.toString('hex')]), [[10, '0102030405060708'], [3, '']]);
  // The OPT record on the wire: root name (0x00), type 41, class = UDP size, TTL = ext-rcode 0, version 0, DO.
  const qEnd = 12 + 16 + 4;
  assert.equal(buf.subarray(qEnd, qEnd + 9).toString('hex'), '00' + '0029' + '0fa0' + '00' + '00' + '8000');

  const plain = encodeQuery(normalizeQuery({ server: '10.0.0.1', name: 'probe.test.', type: 'TYPE65', klass: 'CH', rd: false, edns: false, id: 1 }));
  assert.equal(plain.readUInt16BE(2), 0, 'no RD');
  assert.equal(plain.readUInt16BE(10), 0, 'no OPT record');
  assert.equal(plain.length, 12 + 12 + 4);
  assert.deepEqual([plain.readUInt16BE(24), plain.readUInt16BE(26)], [65, 3], 'TYPE65 class CH as numbers');
  const odd = encodeQuery(normalizeQuery({ server: '10.0.0.1', name: '.', type: 'NS', klass: 'CLASS42', edns: false, id: 1 }));
  assert.deepEqual([odd[12], odd.readUInt16BE(13), odd.readUInt16BE(15)], [0, 2, 42], 'root name, CLASS42 written as 42');
});

/** A reply as an authoritative server would send it (built with dns-packet). */
function reply(opts: { id?: number; flags?: number; rcode?: number; extendedRcode?: number; answers?: unknown[]; authorities?: unknown[]; additionals?: unknown[]; qname?: string; qtype?: string } = {}): Buffer {
  return dnsPacket.encode({
    type: 'response', id: opts.id ?? 0x1234,
    flags: (opts.flags ?? dnsPacket.AUTHORITATIVE_ANSWER) | (opts.rcode ?? 0),
    questions: [{ name: opts.qname ?? 'www.probe.test', type: (opts.qtype ?? 'A') as 'A', class: 'IN' }],
    answers: (opts.answers ?? []) as dnsPacket.Answer[],
    authorities: (opts.authorities ?? []) as dnsPacket.Answer[],
    additionals: [
      ...(opts.additionals ?? []),
      { name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: opts.extendedRcode ?? 0, flags: dnsPacket.DNSSEC_OK, options: [{ code: 3, data: Buffer.from('ns1') }] },
    ] as dnsPacket.Answer[],
  });
}

test('decodeReply: every section in presentation form with exact data strings and TTLs; flags; EDNS', () => {
  const buf = reply({
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    answers: [
      { name: 'www.probe.test', type: 'A', ttl: 3600, data: '192.0.2.80' },
      { name: 'www.probe.test', type: 'AAAA', ttl: 300, data: '2001:db8::80' },
      { name: 'alias.probe.test', type: 'CNAME', ttl: 60, data: 'www.probe.test' },
      { name: 'probe.test', type: 'MX', ttl: 300, data: { preference: 10, exchange: 'mx1.probe.test' } },
      { name: 'txt.probe.test', type: 'TXT', ttl: 300, data: ['hello world', 'say "hi"\\', Buffer.from([0x07, 0x41])] },
      { name: '_dns._udp.probe.test', type: 'SRV', ttl: 300, data: { priority: 1, weight: 5, port: 53, target: 'ns1.probe.test' } },
      { name: 'probe.test', type: 'CAA', ttl: 300, data: { flags: 0, tag: 'issue', value: 'ca.example' } },
      { name: 'probe.test', type: 'DS', ttl: 300, data: { keyTag: 12345, algorithm: 13, digestType: 2, digest: Buffer.from('abcdef', 'hex') } },
      { name: 'raw.probe.test', type: 'UNKNOWN_65', ttl: 5, data: Buffer.from('0001', 'hex') },
    ],
    authorities: [{ name: 'probe.test', type: 'SOA', ttl: 300, data: { mname: 'ns1.probe.test', rname: 'hostmaster.probe.test', serial: 2024010101, refresh: 3600, retry: 900, expire: 604800, minimum: 60 } }],
    additionals: [{ name: 'ns1.probe.test', type: 'A', ttl: 300, data: '10.53.1.53' }],
  });
  const d = decodeReply(buf);
  assert.equal(d.id, 0x1234);
  assert.equal(d.rcode, 'NOERROR');
  assert.equal(d.opcode, 'QUERY');
  assert.deepEqual(d.flags, { aa: true, tc: false, rd: true, ra: false, ad: true, cd: false });
  assert.deepEqual(d.question, { name: 'www.probe.test.', type: 'A', klass: 'IN' });
  assert.deepEqual(d.answers.map((r) => `${r.name} ${r.ttl} ${r.klass} ${r.type} ${r.data}`), [
    'www.probe.test. 3600 IN A 192.0.2.80',
    'www.probe.test. 300 IN AAAA 2001:db8::80',
    'alias.probe.test. 60 IN CNAME www.probe.test.',
    'probe.test. 300 IN MX 10 mx1.probe.test.',
    'txt.probe.test. 300 IN TXT "hello world" "say \\"hi\\"\\\\" "\\007A"',
    '_dns._udp.probe.test. 300 IN SRV 1 5 53 ns1.probe.test.',
    'probe.test. 300 IN CAA 0 issue "ca.example"',
    'probe.test. 300 IN DS 12345 13 2 ABCDEF',
    'raw.probe.test. 5 IN TYPE65 \\# 2 0001',
  ]);
  assert.deepEqual(d.authorities, [{ name: 'probe.test.', type: 'SOA', klass: 'IN', ttl: 300,
    data: 'ns1.probe.test. hostmaster.probe.test. 2024010101 3600 900 604800 60' }]);
  assert.deepEqual(d.additionals, [{ name: 'ns1.probe.test.', type: 'A', klass: 'IN', ttl: 300, data: '10.53.1.53' }], 'OPT is not a record');
  assert.deepEqual(d.edns, { udpSize: 1232, version: 0, do: true, options: [{ code: 3, data: Buffer.from('ns1').toString('hex') }] });
});

test('decodeReply: NXDOMAIN, the EDNS extended rcode, TC; malformed bytes throw', () => {
  assert.equal(decodeReply(reply({ rcode: 3 })).rcode, 'NXDOMAIN');
  assert.equal(decodeReply(reply({ rcode: 0, extendedRcode: 1 })).rcode, 'BADVERS');
  assert.equal(decodeReply(reply({ flags: dnsPacket.TRUNCATED_RESPONSE })).flags.tc, true);
  assert.throws(() => decodeReply(Buffer.alloc(5)), /Header must be 12 bytes/);
  const cut = reply({ answers: [{ name: 'www.probe.test', type: 'A', ttl: 1, data: '192.0.2.1' }] });
  assert.throws(() => decodeReply(cut.subarray(0, 40)));
});

const Q: SentQuery = normalizeQuery({ server: '10.53.1.54', port: 5300, name: 'who.alias.test', type: 'A', id: 0x1234 });
const hex = (b: Buffer): string => b.toString('hex');

test('exchangeResult: a reply from another address than asked is kept and flagged (dig: "reply from unexpected source")', () => {
  const buf = reply({ qname: 'who.alias.test', answers: [{ name: 'who.alias.test', type: 'A', ttl: 60, data: '192.0.2.54' }] });
  const ok: RunnerExchange = { transport: 'udp', ok: true, ms: 0.42, from: { address: '10.53.1.53', port: 5300 }, local: { address: '0.0.0.0', port: 40000 }, reply: hex(buf) };
  const r = exchangeResult(Q, ok);
  assert.equal(r.ok, true);
  assert.equal(r.error, undefined);
  assert.equal(r.unexpectedSource, true);
  assert.deepEqual(r.from, { address: '10.53.1.53', port: 5300 });
  assert.deepEqual(r.sentTo, { address: '10.53.1.54', port: 5300 });
  assert.equal(r.latencyMs, 0.42);
  assert.deepEqual(r.answers, [{ name: 'who.alias.test.', type: 'A', klass: 'IN', ttl: 60, data: '192.0.2.54' }]);
  assert.equal(exchangeResult(Q, { ...ok, from: { address: '10.53.1.54', port: 5300 } }).unexpectedSource, undefined);
  assert.equal(exchangeResult(Q, { ...ok, from: { address: '10.53.1.54', port: 53 } }).unexpectedSource, true, 'another port counts too');
  const mismatch = exchangeResult(Q, { ...ok, reply: hex(reply({ qname: 'other.test', qtype: 'MX' })) });
  assert.equal(mismatch.questionMismatch, 'reply is for other.test. IN MX, the query asked who.alias.test. IN A');
  const bad = exchangeResult(Q, { ...ok, reply: 'abcd' });
  assert.deepEqual([bad.ok, bad.error], [true, 'malformed reply (Header must be 12 bytes)']);
  const timeout = exchangeResult(Q, { transport: 'udp', ok: false, ms: 2000, error: 'timeout', local: { address: '0.0.0.0', port: 40000 } });
  assert.deepEqual([timeout.ok, timeout.error, timeout.rcode, timeout.answers, timeout.latencyMs], [false, 'timeout', undefined, [], undefined]);
});

test('sameAddress/canonicalIp: IPv6 spellings, IPv4-mapped, zones', () => {
  assert.ok(sameAddress('fd00:53:1::53', 'fd00:53:1:0:0:0:0:53'));
  assert.ok(sameAddress('FD00:53:1::53', 'fd00:0053:0001::0053'));
  assert.ok(sameAddress('::ffff:10.0.0.1', '10.0.0.1'));
  assert.ok(sameAddress('fe80::1%eth1', 'fe80::1'));
  assert.ok(!sameAddress('10.53.1.53', '10.53.1.54'));
  assert.ok(!sameAddress('fd00::1', 'fd00::1:0'));
  assert.equal(canonicalIp('::'), '0:0:0:0:0:0:0:0');
  assert.equal(canonicalIp('::1'), '0:0:0:0:0:0:0:1');
  assert.equal(canonicalIp('64:ff9b::192.0.2.1'), '64:ff9b:0:0:0:0:c000:201');
});

test('resultOf: a UDP reply with TC retried over TCP gives the TCP result with the UDP one kept', () => {
  const tc = reply({ flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE });
  const full = reply({ answers: [{ name: 'www.probe.test', type: 'A', ttl: 1, data: '192.0.2.1' }] });
  const r = resultOf(Q, [
    { transport: 'udp', ok: true, ms: 1, from: { address: '10.53.1.54', port: 5300 }, local: { address: '0.0.0.0', port: 40000 }, reply: hex(tc) },
    { transport: 'tcp', ok: true, ms: 2, connectMs: 1, from: { address: '10.53.1.54', port: 5300 }, local: { address: '10.53.1.10', port: 41000 }, reply: hex(full) },
  ]);
  assert.equal(r.transport, 'tcp');
  assert.equal(r.flags?.tc, false);
  assert.equal(r.answers.length, 1);
  assert.equal(r.truncatedUdp?.transport, 'udp');
  assert.equal(r.truncatedUdp?.flags?.tc, true);
  assert.throws(() => resultOf(Q, []), /without exchanges/);
});

test('wireOf: picks the exchange\'s query and replies (from any source) by our local port; ICMP errors quoting it', () => {
  const base = { timeMs: 1, capturedLength: 60, length: 60, family: 4 as const, ttl: 64 };
  const packets: Packet[] = [
    { ...base, src: '10.53.1.10', dst: '10.53.1.54', proto: 'udp', srcPort: 40000, dstPort: 5300, udpChecksum: 0x1111, udpChecksumExpected: 0x2222, udpLength: 40, direction: 'out' },
    { ...base, src: '10.53.1.53', dst: '10.53.1.10', proto: 'udp', srcPort: 5300, dstPort: 40000, udpChecksum: 0x1234, udpChecksumExpected: 0xa461, udpLength: 60, direction: 'host' },
    { ...base, src: '10.53.1.10', dst: '10.53.1.54', proto: 'udp', srcPort: 40001, dstPort: 5300, udpChecksum: 1, udpLength: 40 },
    { ...base, src: '10.53.1.54', dst: '10.53.1.10', proto: 'icmp', icmp: { type: 3, code: 3, inner: { src: '10.53.1.10', dst: '10.53.1.54', proto: 'udp', srcPort: 40000, dstPort: 5300 } } },
  ];
  const ex: RunnerExchange = { transport: 'udp', ok: false, ms: 1000, error: 'timeout', local: { address: '0.0.0.0', port: 40000 } };
  const w = wireOf(Q, ex, packets);
  assert.deepEqual(w.queries.map((p) => [p.from.port, p.to.address, p.udpChecksum, p.direction]), [[40000, '10.53.1.54', 0x1111, 'out']]);
  assert.deepEqual(w.replies, [{ from: { address: '10.53.1.53', port: 5300 }, to: { address: '10.53.1.10', port: 40000 }, transport: 'udp',
    udpChecksum: 0x1234, udpChecksumExpected: 0xa461, length: 60, direction: 'host', timeMs: 1 }]);
  assert.deepEqual(w.icmp, [{ from: '10.53.1.54', type: 3, code: 3 }]);
  assert.deepEqual(wireOf(Q, { ...ex, local: undefined }, packets), { queries: [], replies: [], icmp: [] });
  const r = exchangeResult(Q, ex, packets);
  assert.equal(r.wire?.replies[0]?.udpChecksum, 0x1234);
});
