// The responder fixture (src/dns/fixture.mjs): fixtures/dns/edge.yaml compiles to the expected plan; every
// mistake is reported at its line and column; names are normalised; rules match first-wins with wildcards
// and types; replies carry the right rcode, flags, sections, truncation and sending instructions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import dnsPacket, { type Packet } from 'dns-packet';
import {
  RCODES, absName, behaviour, compileFixture, matchRule, nameProblem, respond, type ResponderPlan,
} from '../../../src/dns/fixture.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const EDGE = readFileSync(`${root}fixtures/dns/edge.yaml`, 'utf8');
const ADDRS = ['127.0.0.1', '::1', '10.53.2.53', '10.53.9.53'];

function plan(text = EDGE): ResponderPlan {
  const r = compileFixture(text, 'edge.yaml', { addresses: ADDRS, node: 'edge' });
  assert.deepEqual(r.errors, []);
  return r.plan!;
}

function query(name: string, type = 'A', o: { flags?: number; edns?: number; klass?: string; opcode?: number } = {}): Packet {
  const q = { type: 'query', id: 4242, flags: (o.flags ?? dnsPacket.RECURSION_DESIRED) | ((o.opcode ?? 0) << 11),
    questions: [{ name, type, class: o.klass ?? 'IN' }],
    additionals: o.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: o.edns, flags: 0, options: [] }] : [] };
  return dnsPacket.decode(dnsPacket.encode(q as unknown as Packet)) as Packet;
}

type Rr = { name: string; type: string; ttl: number; data: unknown };
type Decoded = { id: number; rcode: string; flag_aa: boolean; flag_tc: boolean; flag_rd: boolean; questions: unknown[];
  answers: Rr[]; authorities: Rr[]; additionals: Rr[] };

function reply(p: ResponderPlan, name: string, type = 'A', transport: 'udp' | 'tcp' = 'udp', o = {}, overrides = {}) {
  const r = respond(p, query(name, type, o), transport, overrides);
  assert.equal(r.action, 'reply');
  if (r.action !== 'reply') throw new Error('unreachable');
  const d = dnsPacket.decode(r.packet) as unknown as Decoded;
  return { r, d };
}

test('edge.yaml compiles: zone, SOA defaults and overrides, absolute names, typed data, rules in order', () => {
  const p = plan();
  assert.equal(p.zone, 'edge.test');
  assert.deepEqual([p.authoritative, p.tcp, p.ttl], [true, true, 300]);
  assert.deepEqual(p.soa, {
    name: 'edge.test', type: 'SOA', class: 'IN', ttl: 300,
    data: { mname: 'ns.edge.test', rname: 'hostmaster.edge.test', serial: 2024010101, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
  });
  const rec = (name: string, type: string) => p.records.filter((r) => r.name === name && r.type === type).map((r) => [r.ttl, r.data]);
  assert.deepEqual(rec('edge.test', 'NS'), [[300, 'ns.edge.test']]);
  assert.deepEqual(rec('www.edge.test', 'AAAA'), [[60, '2001:db8::80']]);
  assert.deepEqual(rec('edge.test', 'MX'), [[300, { preference: 10, exchange: 'mail.edge.test' }]]);
  assert.deepEqual(rec('edge.test', 'TXT'), [[300, ['v=spf1 -all']]]);
  assert.deepEqual(rec('alias.edge.test', 'CNAME'), [[300, 'www.edge.test']]);
  assert.deepEqual(rec('_dns._udp.edge.test', 'SRV'), [[300, { priority: 0, weight: 5, port: 53, target: 'ns.edge.test' }]]);
  assert.deepEqual(p.rules, [
    { name: 'zero.edge.test', zeroChecksum: true },
    { name: 'big.edge.test', truncate: true },
    { name: 'moved.edge.test', replyFrom: '10.53.9.53' },
    { name: 'void.edge.test', drop: true },
    { name: 'broken.edge.test', rcode: 'SERVFAIL' },
    { name: 'slow.edge.test', delayMs: 300 },
    { name: '*.lab.edge.test', type: 'AAAA', rcode: 'NOTIMP' },
  ]);
});

test('every mistake is reported with its line and column, sorted, and no plan is returned', () => {
  const text = [
    'zone: edge.test',                                          // 1
    'ttl: -5',                                                  // 2
    'colour: red',                                              // 3
    'records:',                                                 // 4
    '  - { name: www, type: AA, data: 1.2.3.4 }',               // 5
    '  - { name: x.example.org., type: A, data: 1.2.3.4 }',     // 6
    '  - { name: mx, type: MX, data: "ten mail" }',             // 7
    '  - { name: c, type: CNAME, data: www }',                  // 8
    '  - { name: c, type: A, data: 192.0.2.1 }',                // 9
    '  - { name: bad_label-, type: A, data: 192.0.2.1 }',       // 10
    '  - { name: t, type: TXT, data: [1, { a: b }] }',          // 11
    'rules:',                                                   // 12
    '  - { name: a, rcode: bogus }',                            // 13
    '  - { name: b }',                                          // 14
    '  - { name: c, drop: true, delay_ms: 5 }',                 // 15
    '  - { name: d, reply_from: 10.0.0.9, zero_checksum: 1 }',  // 16
    '  - { name: "e.*", delay_ms: 70000 }',                     // 17
    '  - { name: f, type: BOGUS, truncate: true }',             // 18
    '  - { drop: true }',                                       // 19
  ].join('\n');
  const r = compileFixture(text, 'bad.yaml', { addresses: ADDRS, node: 'edge' });
  assert.equal(r.plan, undefined);
  assert.deepEqual(r.errors, [
    'bad.yaml:2:6: fixture: ttl -5 must be a whole number of seconds 0..2147483647',
    "bad.yaml:3:1: fixture: unknown key 'colour'; known: zone, authoritative, ttl, tcp, soa, records, rules",
    "bad.yaml:5:24: record #1 (www AA): unknown type 'AA'; known: A, AAAA, CNAME, NS, MX, TXT, PTR, SRV",
    'bad.yaml:6:13: record #2 (x.example.org. A): name x.example.org. is outside zone edge.test; hint: a fixture serves one zone',
    'bad.yaml:7:33: record #3 (mx MX): data \'ten mail\' is not "<preference> <exchange>", e.g. "10 mail"',
    'bad.yaml:8:5: record #4 (c.edge.test CNAME): a CNAME cannot sit beside other records of c.edge.test (A)',
    "bad.yaml:10:13: record #6 (bad_label- A): name bad_label- has an invalid label 'bad_label-' (letters, digits, '-', '_')",
    'bad.yaml:11:33: record #7 (t TXT): data must be a string or a list of strings (got a map)',
    "bad.yaml:13:23: rule #1 (a): unknown rcode 'bogus'; known: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE",
    'bad.yaml:14:5: rule #2 (b): does nothing; give one of: drop, delay_ms, truncate, rcode, reply_from, zero_checksum',
    'bad.yaml:15:16: rule #3 (c): drop excludes other actions (delay_ms)',
    'bad.yaml:16:28: rule #4 (d): reply_from 10.0.0.9 is not an address of node edge; known: 127.0.0.1, ::1, 10.53.2.53, 10.53.9.53',
    'bad.yaml:16:53: rule #4 (d): zero_checksum must be true or false (got 1)',
    "bad.yaml:17:13: rule #5 (e.*): name e.* may use '*' only as its first label (*.suffix)",
    'bad.yaml:18:22: rule #6 (f): unknown type \'BOGUS\'; known: A, AAAA, CNAME, NS, MX, TXT, PTR, SRV, SOA, ANY, CAA, DS, DNSKEY, HTTPS, SVCB, NAPTR',
    "bad.yaml:19:5: rule #7: missing required key 'name' (exact name, or *.suffix)",
  ]);
});

test('empty files, YAML errors and a missing zone are reported, not thrown', () => {
  assert.deepEqual(compileFixture('', 'e.yaml').errors, ['e.yaml:1:1: fixture: the file is empty; hint: a fixture needs at least zone:']);
  assert.deepEqual(compileFixture('records: []\n', 'e.yaml').errors, ["e.yaml:1:1: fixture: missing required key 'zone' (the zone this responder serves, e.g. edge.test)"]);
  const y = compileFixture('zone: a\nzone: b\n', 'e.yaml').errors;
  assert.equal(y.length, 1);
  assert.match(y[0]!, /^e\.yaml:2:1: YAML syntax error: Map keys must be unique/);
  // without addresses (validation outside a lab) reply_from is only checked to be an address
  assert.deepEqual(compileFixture('zone: a.test\nrules: [{ name: x, reply_from: 192.0.2.9 }]\n', 'e.yaml').errors, []);
});

test('names: @, relative, absolute, the zone itself; label rules', () => {
  assert.equal(absName('@', 'edge.test'), 'edge.test');
  assert.equal(absName('www', 'edge.test'), 'www.edge.test');
  assert.equal(absName('WWW.Edge.Test', 'edge.test'), 'www.edge.test');
  assert.equal(absName('mail.other.org.', 'edge.test'), 'mail.other.org');
  assert.equal(absName('edge.test', 'edge.test'), 'edge.test');
  assert.equal(nameProblem('a..b'), 'has an empty label');
  assert.equal(nameProblem(`${'x'.repeat(64)}.test`), 'has a label of 64 characters (at most 63)');
  assert.equal(nameProblem('_dns._udp.edge.test'), '');
});

test('rule matching: first match wins; *.suffix matches below the suffix only; type narrows a rule', () => {
  const rules = [
    { name: 'a.edge.test', type: 'AAAA', rcode: 'NOTIMP' as const },
    { name: '*.edge.test', delayMs: 10 },
    { name: 'a.edge.test', drop: true },
  ];
  assert.equal(matchRule(rules, 'a.edge.test', 'AAAA'), rules[0]);
  assert.equal(matchRule(rules, 'a.edge.test', 'A'), rules[1], 'the wildcard comes first for A');
  assert.equal(matchRule(rules, 'x.y.edge.test', 'A'), rules[1]);
  assert.equal(matchRule(rules, 'edge.test', 'A'), undefined, '*.edge.test does not match edge.test itself');
  assert.equal(matchRule(rules, 'aedge.test', 'A'), undefined);
  assert.deepEqual(behaviour(plan(), 'zero.edge.test', 'A', { zeroChecksum: false }), { rule: 'zero.edge.test', zeroChecksum: false });
  assert.deepEqual(behaviour(plan(), 'www.edge.test', 'A', { delayMs: 5 }), { rule: undefined, delayMs: 5 });
});

test('answers: AA data, CNAME chased in the zone, NODATA and NXDOMAIN with the SOA, REFUSED outside, NOTIMP opcode', () => {
  const p = plan();
  const a = reply(p, 'WWW.edge.test');
  assert.deepEqual([a.d.rcode, a.d.flag_aa, a.d.flag_rd, a.d.id], ['NOERROR', true, true, 4242]);
  assert.deepEqual(a.d.answers.map((x) => [x.name, x.type, x.ttl, x.data]), [['www.edge.test', 'A', 300, '198.51.100.80']]);
  const c = reply(p, 'alias.edge.test', 'AAAA');
  assert.deepEqual(c.d.answers.map((x) => [x.type, x.data]), [['CNAME', 'www.edge.test'], ['AAAA', '2001:db8::80']]);
  const nodata = reply(p, 'mail.edge.test', 'AAAA');
  assert.deepEqual([nodata.d.rcode, nodata.d.answers.length, nodata.d.authorities.map((x) => [x.type, x.ttl])], ['NOERROR', 0, [['SOA', 60]]]);
  const ent = reply(p, '_udp.edge.test', 'A');
  assert.equal(ent.d.rcode, 'NOERROR', 'an empty non-terminal exists');
  const nx = reply(p, 'nope.edge.test');
  assert.deepEqual([nx.d.rcode, nx.d.flag_aa, nx.d.authorities.map((x) => x.type)], ['NXDOMAIN', true, ['SOA']]);
  const soa = reply(p, 'edge.test', 'SOA');
  assert.equal(soa.d.answers[0]!.type, 'SOA');
  const out = reply(p, 'www.example.org');
  assert.deepEqual([out.d.rcode, out.d.flag_aa, out.d.answers.length], ['REFUSED', false, 0]);
  assert.equal(reply(p, 'id.server', 'TXT', 'udp', { klass: 'CH' }).d.rcode, 'REFUSED');
  assert.equal(reply(p, 'www.edge.test', 'A', 'udp', { opcode: 2 }).d.rcode, 'NOTIMP');
  assert.equal(reply(p, 'any.edge.test', 'A', 'udp', { flags: 0 }).d.flag_rd, false);
});

test('rules in replies: rcode, truncate (UDP only), zero checksum and reply_from (UDP only), delay, drop', () => {
  const p = plan();
  const sf = reply(p, 'broken.edge.test');
  assert.deepEqual([sf.d.rcode, sf.d.flag_aa, sf.d.answers.length], ['SERVFAIL', false, 0]);
  const tc = reply(p, 'big.edge.test');
  assert.deepEqual([tc.r.truncated, tc.d.flag_tc, tc.d.answers.length, tc.d.questions.length], [true, true, 0, 1]);
  const full = reply(p, 'big.edge.test', 'A', 'tcp');
  assert.deepEqual([full.r.truncated, full.d.flag_tc, full.d.answers.length], [false, false, 1]);
  const z = reply(p, 'zero.edge.test');
  assert.equal(z.r.zeroChecksum, true);
  assert.equal(reply(p, 'zero.edge.test', 'A', 'tcp').r.zeroChecksum, false);
  assert.equal(reply(p, 'moved.edge.test').r.replyFrom, '10.53.9.53');
  assert.equal(reply(p, 'moved.edge.test', 'A', 'tcp').r.replyFrom, undefined);
  assert.equal(reply(p, 'slow.edge.test').r.delayMs, 300);
  assert.equal(reply(p, 'x.lab.edge.test', 'AAAA').d.rcode, 'NOTIMP');
  assert.equal(reply(p, 'x.lab.edge.test', 'A').d.rcode, 'NXDOMAIN');
  const drop = respond(p, query('void.edge.test'), 'udp');
  assert.deepEqual(drop, { action: 'drop', behaviour: { rule: 'void.edge.test', drop: true } });
  // overrides win over rules, for every name
  assert.equal(respond(p, query('void.edge.test'), 'udp', { drop: false }).action, 'reply');
  assert.equal(reply(p, 'www.edge.test', 'A', 'udp', {}, { zeroChecksum: true }).r.zeroChecksum, true);
  const forced = reply(p, 'www.edge.test', 'A', 'udp', {}, { rcode: 'NXDOMAIN' });
  assert.deepEqual([forced.d.rcode, forced.d.answers.length, forced.d.authorities.map((x) => x.type)], ['NXDOMAIN', 0, ['SOA']]);
});

test('EDNS: the OPT record is echoed with 1232 bytes; answers larger than the client\'s size are truncated', () => {
  const many = ['zone: big.test', 'records:', ...Array.from({ length: 40 }, (_, i) => `  - { name: t, type: TXT, data: "${'x'.repeat(50)}${i}" }`)].join('\n');
  const p = plan(many);
  const plain = reply(p, 't.big.test', 'TXT');
  assert.deepEqual([plain.r.truncated, plain.r.packet.length <= 512], [true, true], 'no EDNS: 512 bytes');
  const edns = reply(p, 't.big.test', 'TXT', 'udp', { edns: 4096 });
  assert.equal(edns.r.truncated, true, '40 × 52 bytes do not fit into 1232 either');
  const opt = edns.d.additionals.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
  assert.equal(opt?.udpPayloadSize, 1232);
  const tcp = reply(p, 't.big.test', 'TXT', 'tcp', { edns: 4096 });
  assert.equal(tcp.d.answers.length, 40);
});

test('the rcode list is the validated one (dns-packet turns unknown names into NOERROR)', () => {
  assert.deepEqual(RCODES, ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE']);
});
