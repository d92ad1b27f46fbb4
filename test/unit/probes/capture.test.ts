// pcap parsing on hand-built files: Ethernet (with a VLAN tag), Linux cooked v1 and v2, raw IP; IPv4 and
// IPv6; UDP checksums as on the wire (0x0000, a wrong one, a right one) against the expected value
// (expected values computed independently, with Python), TCP, ICMP errors; bad files fail clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINKTYPE, checkFilter, parsePcap, udpChecksum } from '../../../src/probes/capture.js';

const PAYLOAD = Buffer.from('abcd8180000100010000000003777777', 'hex');

function v4(s: string): Buffer { return Buffer.from(s.split('.').map(Number)); }
function v6(s: string): Buffer {
  const [h, t] = s.split('::') as [string, string | undefined];
  const hs = h ? h.split(':') : []; const ts = t ? t.split(':') : [];
  const groups = t === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

function udp(sport: number, dport: number, payload: Buffer, checksum: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0); h.writeUInt16BE(dport, 2); h.writeUInt16BE(8 + payload.length, 4); h.writeUInt16BE(checksum, 6);
  return Buffer.concat([h, payload]);
}

function ipv4(src: string, dst: string, proto: number, l4: Buffer, ttl = 64): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; h.writeUInt16BE(20 + l4.length, 2); h[8] = ttl; h[9] = proto;
  v4(src).copy(h, 12); v4(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

function ipv6(src: string, dst: string, next: number, l4: Buffer, hop = 64): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60; h.writeUInt16BE(l4.length, 4); h[6] = next; h[7] = hop;
  v6(src).copy(h, 8); v6(dst).copy(h, 24);
  return Buffer.concat([h, l4]);
}

function ether(etherType: number, payload: Buffer, vlan?: number): Buffer {
  const macs = Buffer.from('020000000001020000000002', 'hex');
  const tag = vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, 0, vlan]);
  const et = Buffer.alloc(2); et.writeUInt16BE(etherType);
  return Buffer.concat([macs, tag, et, payload]);
}

function sll(pktType: number, etherType: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(pktType, 0); h.writeUInt16BE(1, 2); h.writeUInt16BE(6, 4);
  Buffer.from('020000000001', 'hex').copy(h, 6); h.writeUInt16BE(etherType, 14);
  return Buffer.concat([h, payload]);
}

function sll2(pktType: number, ifindex: number, etherType: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(etherType, 0); h.writeUInt32BE(ifindex, 4); h.writeUInt16BE(1, 8); h[10] = pktType; h[11] = 6;
  Buffer.from('020000000001', 'hex').copy(h, 12);
  return Buffer.concat([h, payload]);
}

/** A classic pcap: little-endian µs by default (what tcpdump writes on x86). */
function pcap(linkType: number, frames: Array<{ sec: number; frac: number; data: Buffer; orig?: number }>, opts: { be?: boolean; ns?: boolean } = {}): Buffer {
  const w32 = (b: Buffer, v: number, o: number): void => { if (opts.be) b.writeUInt32BE(v, o); else b.writeUInt32LE(v, o); };
  const w16 = (b: Buffer, v: number, o: number): void => { if (opts.be) b.writeUInt16BE(v, o); else b.writeUInt16LE(v, o); };
  const g = Buffer.alloc(24);
  w32(g, opts.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0); w16(g, 2, 4); w16(g, 4, 6); w32(g, 262144, 16); w32(g, linkType, 20);
  const recs = frames.map((f) => {
    const h = Buffer.alloc(16);
    w32(h, f.sec, 0); w32(h, f.frac, 4); w32(h, f.data.length, 8); w32(h, f.orig ?? f.data.length, 12);
    return Buffer.concat([h, f.data]);
  });
  return Buffer.concat([g, ...recs]);
}

const REPLY4 = (csum: number): Buffer => ipv4('10.53.1.53', '10.53.1.10', 17, udp(53, 40000, PAYLOAD, csum));
const REPLY6 = (csum: number): Buffer => ipv6('fd00:53:1::53', 'fd00:53:1::10', 17, udp(53, 40000, PAYLOAD, csum));

test('udpChecksum matches an independent computation (IPv4, IPv6, odd length)', () => {
  assert.equal(udpChecksum(Buffer.concat([v4('10.53.1.53'), v4('10.53.1.10')]), udp(53, 40000, PAYLOAD, 0)), 0xa461);
  assert.equal(udpChecksum(Buffer.concat([v6('fd00:53:1::53'), v6('fd00:53:1::10')]), udp(53, 40000, PAYLOAD, 0xffff)), 0xbffd,
    'the checksum field itself is not summed');
  assert.equal(udpChecksum(Buffer.concat([v4('10.99.0.1'), v4('10.99.0.2')]), udp(47761, 9, Buffer.from('hi\n'), 0x14e5)), 0xbe0b);
});

test('Ethernet: IPv4 UDP with checksum 0x0000 (none) and the right one; a VLAN-tagged frame; ARP is skipped', () => {
  const arp = ether(0x0806, Buffer.alloc(28));
  const file = pcap(LINKTYPE.ETHERNET, [
    { sec: 1700000000, frac: 250000, data: ether(0x0800, REPLY4(0x0000)) },
    { sec: 1700000000, frac: 250500, data: ether(0x0800, REPLY4(0xa461), 10) },
    { sec: 1700000001, frac: 0, data: arp },
  ]);
  const r = parsePcap(file);
  assert.equal(r.linkType, 1);
  assert.equal(r.nanoseconds, false);
  assert.equal(r.skipped, 1);
  assert.equal(r.packets.length, 2);
  const [zero, good] = r.packets as [NonNullable<(typeof r.packets)[0]>, NonNullable<(typeof r.packets)[0]>];
  assert.deepEqual(
    { family: zero.family, src: zero.src, dst: zero.dst, proto: zero.proto, srcPort: zero.srcPort, dstPort: zero.dstPort,
      udpChecksum: zero.udpChecksum, udpChecksumExpected: zero.udpChecksumExpected, udpLength: zero.udpLength, payloadLength: zero.payloadLength, ttl: zero.ttl },
    { family: 4, src: '10.53.1.53', dst: '10.53.1.10', proto: 'udp', srcPort: 53, dstPort: 40000,
      udpChecksum: 0, udpChecksumExpected: 0xa461, udpLength: 24, payloadLength: 16, ttl: 64 });
  assert.equal(zero.timeMs, 1700000000250);
  assert.equal(zero.direction, undefined, 'Ethernet has no direction');
  assert.deepEqual(zero.payload, PAYLOAD);
  assert.equal(good.udpChecksum, 0xa461);
  assert.equal(good.udpChecksumExpected, 0xa461);
  assert.equal(good.timeMs, 1700000000250.5);
});

test('Linux cooked (SLL): a reply arriving with a wrong checksum 0x1234', () => {
  const r = parsePcap(pcap(LINKTYPE.LINUX_SLL, [{ sec: 10, frac: 0, data: sll(0, 0x0800, REPLY4(0x1234)) }]));
  assert.equal(r.linkType, 113);
  const p = r.packets[0]!;
  assert.equal(p.direction, 'host');
  assert.equal(p.udpChecksum, 0x1234);
  assert.equal(p.udpChecksumExpected, 0xa461);
  assert.notEqual(p.udpChecksum, p.udpChecksumExpected);
});

test('Linux cooked v2 (SLL2): IPv6 UDP in and out, interface index, nanosecond big-endian file', () => {
  const file = pcap(LINKTYPE.LINUX_SLL2, [
    { sec: 20, frac: 123456789, data: sll2(0, 7, 0x86dd, REPLY6(0xbffd)) },
    { sec: 20, frac: 200000000, data: sll2(4, 7, 0x86dd, ipv6('fd00:53:1::10', 'fd00:53:1::53', 17, udp(40000, 53, PAYLOAD, 0x5555))) },
  ], { be: true, ns: true });
  const r = parsePcap(file);
  assert.equal(r.linkType, 276);
  assert.equal(r.nanoseconds, true);
  const [inn, out] = r.packets as [NonNullable<(typeof r.packets)[0]>, NonNullable<(typeof r.packets)[0]>];
  assert.deepEqual([inn.family, inn.src, inn.dst, inn.ifindex, inn.direction], [6, 'fd00:53:1::53', 'fd00:53:1::10', 7, 'host']);
  assert.equal(inn.udpChecksum, 0xbffd);
  assert.equal(inn.udpChecksumExpected, 0xbffd);
  assert.equal(inn.timeMs, 20123.456789);
  assert.equal(out.direction, 'out');
  assert.equal(out.udpChecksum, 0x5555, 'as on the wire (sent with offload: unfilled)');
});

test('TCP segment: ports, flags, payload length; raw-IP link type', () => {
  const tcp = Buffer.alloc(20 + 5);
  tcp.writeUInt16BE(53, 0); tcp.writeUInt16BE(41000, 2); tcp[12] = 5 << 4; tcp[13] = 0x18;
  Buffer.from('\x00\x03abc', 'latin1').copy(tcp, 20);
  const r = parsePcap(pcap(LINKTYPE.RAW, [{ sec: 1, frac: 0, data: ipv4('10.53.1.53', '10.53.1.10', 6, tcp) }]));
  const p = r.packets[0]!;
  assert.deepEqual([p.proto, p.srcPort, p.dstPort, p.tcpFlags, p.payloadLength, p.udpChecksum], ['tcp', 53, 41000, 'P.', 5, undefined]);
});

test('ICMP port unreachable quoting our UDP query; ICMPv6 too', () => {
  const quoted = ipv4('10.53.1.10', '10.53.1.53', 17, udp(40000, 53, PAYLOAD, 0)).subarray(0, 28);
  const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), quoted]);
  const quoted6 = ipv6('fd00:53:1::10', 'fd00:53:1::53', 17, udp(40000, 53, PAYLOAD, 0)).subarray(0, 48);
  const icmp6 = Buffer.concat([Buffer.from([1, 4, 0, 0, 0, 0, 0, 0]), quoted6]);
  const r = parsePcap(pcap(LINKTYPE.ETHERNET, [
    { sec: 1, frac: 0, data: ether(0x0800, ipv4('10.53.1.53', '10.53.1.10', 1, icmp)) },
    { sec: 1, frac: 1, data: ether(0x86dd, ipv6('fd00:53:1::53', 'fd00:53:1::10', 58, icmp6)) },
  ]));
  assert.deepEqual(r.packets[0]!.icmp, { type: 3, code: 3, inner: { src: '10.53.1.10', dst: '10.53.1.53', proto: 'udp', srcPort: 40000, dstPort: 53 } });
  assert.equal(r.packets[0]!.proto, 'icmp');
  assert.deepEqual(r.packets[1]!.icmp, { type: 1, code: 4, inner: { src: 'fd00:53:1::10', dst: 'fd00:53:1::53', proto: 'udp', srcPort: 40000, dstPort: 53 } });
});

test('a truncated capture (snaplen) keeps the checksum field but computes no expected value', () => {
  const full = ether(0x0800, REPLY4(0xa461));
  const r = parsePcap(pcap(LINKTYPE.ETHERNET, [{ sec: 1, frac: 0, data: full.subarray(0, 14 + 20 + 8 + 4), orig: full.length }]));
  const p = r.packets[0]!;
  assert.equal(p.udpChecksum, 0xa461);
  assert.equal(p.udpChecksumExpected, undefined);
  assert.deepEqual([p.capturedLength, p.length], [46, 58]);
});

test('a record cut short at the end of the file is ignored; bad files fail naming why', () => {
  const file = pcap(LINKTYPE.ETHERNET, [{ sec: 1, frac: 0, data: ether(0x0800, REPLY4(0)) }, { sec: 2, frac: 0, data: ether(0x0800, REPLY4(0)) }]);
  assert.equal(parsePcap(file.subarray(0, file.length - 10)).packets.length, 1);
  assert.equal(parsePcap(file.subarray(0, 24)).packets.length, 0, 'header only: no packets');
  assert.throws(() => parsePcap(Buffer.alloc(10)), /^Error: cannot parse pcap \(10 bytes, shorter than the 24-byte file header\)$/);
  assert.throws(() => parsePcap(Buffer.from('0a0d0d0a000000000000000000000000000000000000000000000000', 'hex')), /this is pcapng/);
  assert.throws(() => parsePcap(Buffer.alloc(24)), /bad magic 0x00000000/);
  assert.throws(() => parsePcap(pcap(228, [{ sec: 1, frac: 0, data: Buffer.alloc(20) }])), /link type 228; known: 1 Ethernet, 101 raw IP, 113 Linux cooked, 276 Linux cooked v2/);
  assert.equal(parsePcap(file, 1).packets.length, 1, 'maxPackets bounds the parse');
});

test('checkFilter: filters naming hosts are refused (tcpdump would resolve them); addresses, ports, protocols pass', () => {
  for (const ok of ['', 'udp or (tcp port 53) or icmp or icmp6', 'host 10.53.1.53 and udp port domain', 'src 10.0.0.1 and dst port 53',
    'ip6 host fd00:53:1::53', 'ether host 02:00:00:00:00:01', 'net 10.53.0.0/16', 'udp[6:2] = 0x1234', 'src host 10.0.0.1', 'not (src net 10.0.0.0/8)']) {
    assert.doesNotThrow(() => checkFilter(ok), ok);
  }
  assert.throws(() => checkFilter('host ns1.example.com'), /^UserError: cannot capture with filter 'host ns1\.example\.com' \(it names host 'ns1\.example\.com'; tcpdump would resolve it\); hint: use IP addresses$/);
  assert.throws(() => checkFilter('udp and host server'), /names host 'server'/);
  assert.throws(() => checkFilter('src router and udp'), /names host 'router'/);
  assert.throws(() => checkFilter('dst host gw'), /names host 'gw'/);
  assert.throws(() => checkFilter('tcp and example.org'), /names host 'example\.org'/);
});
