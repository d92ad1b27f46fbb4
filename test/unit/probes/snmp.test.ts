// UDP counters from /proc/net/snmp and /proc/net/snmp6 text (as kernel 6.x prints them): Udp and Udp6
// apart, UdpLite ignored, a diff that names what moved; text without Udp lines fails clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeUdpDiff, diffUdp, parseSnmp } from '../../../src/probes/snmp.js';

const SNMP = (inDg: number, csum: number): string => [
  'Ip: Forwarding DefaultTTL InReceives',
  'Ip: 2 64 1737',
  'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
  `Udp: ${inDg} 2 ${csum} 1764 0 0 ${csum} 0 0`,
  'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
  'UdpLite: 9 9 9 9 9 9 9 9 9',
  '',
].join('\n');
const SNMP6 = 'Ip6InReceives                   \t1737\nUdp6InDatagrams                 \t5\nUdp6NoPorts                     \t0\n'
  + 'Udp6InErrors                    \t1\nUdp6OutDatagrams                \t6\nUdp6RcvbufErrors                \t0\n'
  + 'Udp6SndbufErrors                \t0\nUdp6InCsumErrors                \t1\nUdp6IgnoredMulti                \t0\n';

test('parseSnmp: Udp from snmp, Udp6 from snmp6; UdpLite is not Udp', () => {
  const c = parseSnmp(SNMP(1757, 0), SNMP6);
  assert.deepEqual(c.udp, { InDatagrams: 1757, NoPorts: 2, InErrors: 0, OutDatagrams: 1764, RcvbufErrors: 0, SndbufErrors: 0, InCsumErrors: 0 });
  assert.deepEqual(c.udp6, { InDatagrams: 5, NoPorts: 0, InErrors: 1, OutDatagrams: 6, RcvbufErrors: 0, SndbufErrors: 0, InCsumErrors: 1 });
  assert.deepEqual(parseSnmp(SNMP(1, 0)).udp6.InDatagrams, 0, 'no snmp6 (IPv6 off): zeros');
  assert.throws(() => parseSnmp('Ip: a\nIp: 1\n'), /^Error: cannot read UDP counters \(no "Udp:" header and value lines/);
  assert.throws(() => parseSnmp('Udp: InDatagrams\nUdp: 1\n'), /no NoPorts in \/proc\/net\/snmp/);
});

test('diffUdp / describeUdpDiff: what moved, signed', () => {
  const d = diffUdp(parseSnmp(SNMP(1757, 0), SNMP6), parseSnmp(SNMP(1757, 1), SNMP6));
  assert.equal(d.udp.InCsumErrors, 1);
  assert.equal(d.udp.InErrors, 1);
  assert.equal(d.udp.InDatagrams, 0);
  assert.equal(describeUdpDiff(d.udp), 'InErrors +1, InCsumErrors +1');
  assert.equal(describeUdpDiff(d.udp6), 'no change');
});
