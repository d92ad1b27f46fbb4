// runner.mjs's dns op on loopback against a fake server in this process: UDP answers, a reply from another
// address (kept, not dropped), stray datagrams, timeouts, TC → TCP retry with the reply split across TCP
// segments (2-byte framing), a connection closed mid-frame, refused TCP; and (as root) dnsQuery end to end
// with a capture on lo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { run } from '../../../src/util/exec.js';
import { RUNNER_PATH } from '../../../src/probes/runner-client.js';
import { dnsQuery, encodeQuery, normalizeQuery, resultOf, type RunnerExchange } from '../../../src/probes/dns.js';

let udp4: dgram.Socket;
let other: dgram.Socket;    // 127.0.0.2, same port: the "unexpected source"
let tcpServer: net.Server;
let port = 0;

function answerFor(query: Buffer, opts: { tc?: boolean; id?: number } = {}): Buffer {
  const q = dnsPacket.decode(query) as unknown as { id: number; questions: Array<{ name: string; type: string }> };
  const name = q.questions[0]!.name;
  const many = name === 'big.test' && !opts.tc;
  return dnsPacket.encode({
    type: 'response', id: opts.id ?? q.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (opts.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (name === 'nx.test' ? 3 : 0),
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: name === 'nx.test' || opts.tc ? [] : Array.from({ length: many ? 40 : 1 }, (_, i) => ({ name, type: 'A' as const, ttl: 300, data: `192.0.2.${i + 1}` })),
  });
}

before(async () => {
  udp4 = dgram.createSocket('udp4');
  await new Promise<void>((res) => udp4.bind(0, '127.0.0.1', () => res()));
  port = udp4.address().port;
  other = dgram.createSocket('udp4');
  await new Promise<void>((res) => other.bind(port, '127.0.0.2', () => res()));
  udp4.on('message', (msg, rinfo) => {
    const name = (dnsPacket.decode(msg) as unknown as { questions: Array<{ name: string }> }).questions[0]!.name;
    if (name === 'silent.test') return;
    if (name === 'moved.test') { other.send(answerFor(msg), rinfo.port, rinfo.address); return; }
    if (name === 'stray.test') udp4.send(answerFor(msg, { id: (msg.readUInt16BE(0) + 1) & 0xffff }), rinfo.port, rinfo.address);
    udp4.send(answerFor(msg, { tc: name === 'big.test' }), rinfo.port, rinfo.address);
  });
  tcpServer = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const query = buf.subarray(2, 2 + buf.readUInt16BE(0));
      const name = (dnsPacket.decode(query) as unknown as { questions: Array<{ name: string }> }).questions[0]!.name;
      const msg = answerFor(query);
      const len = Buffer.alloc(2); len.writeUInt16BE(msg.length);
      if (name === 'cut.test') { sock.end(Buffer.concat([len, msg.subarray(0, 10)])); return; }
      // Split inside the length prefix and inside the message: the runner must reassemble.
      sock.write(len.subarray(0, 1));
      setTimeout(() => { sock.write(Buffer.concat([len.subarray(1), msg.subarray(0, 7)])); }, 15);
      setTimeout(() => { sock.write(msg.subarray(7)); }, 30);
    });
    sock.on('error', () => { /* client gone */ });
  });
  await new Promise<void>((res) => tcpServer.listen(port, '127.0.0.1', () => res()));
});

after(async () => {
  udp4.close(); other.close();
  await new Promise<void>((res) => tcpServer.close(() => res()));
});

async function runner(req: Record<string, unknown>): Promise<{ code: number; answer: { exchanges?: RunnerExchange[]; error?: string } }> {
  const r = await run(process.execPath, [RUNNER_PATH, JSON.stringify(req)], { timeoutMs: 10000 });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one line: ${r.stdout} ${r.stderr}`);
  return { code: r.code, answer: JSON.parse(lines[0] as string) };
}

function req(name: string, extra: Record<string, unknown> = {}, server = '127.0.0.1'): Record<string, unknown> {
  const q = normalizeQuery({ server, port, name, type: 'A', id: 4242 });
  return { op: 'dns', server, port, query: encodeQuery(q).toString('hex'), timeoutMs: 2000, ...extra };
}

test('udp: the reply, where it came from, our local port, the time', async () => {
  const { code, answer } = await runner(req('ok.test'));
  assert.equal(code, 0);
  const [ex] = answer.exchanges!;
  assert.equal(ex!.transport, 'udp');
  assert.equal(ex!.ok, true);
  assert.deepEqual(ex!.from, { address: '127.0.0.1', port });
  assert.equal(ex!.local?.address, '0.0.0.0');
  assert.ok(ex!.local!.port > 0);
  assert.ok(ex!.ms > 0 && ex!.ms < 1000, String(ex!.ms));
  const r = resultOf(normalizeQuery({ server: '127.0.0.1', port, name: 'ok.test', type: 'A', id: 4242 }), answer.exchanges!);
  assert.deepEqual(r.answers, [{ name: 'ok.test.', type: 'A', klass: 'IN', ttl: 300, data: '192.0.2.1' }]);
  assert.equal(r.flags?.aa, true);
  assert.equal(r.unexpectedSource, undefined);
});

test('udp: a reply from another address is received (unconnected socket) and reported in from', async () => {
  const { answer } = await runner(req('moved.test'));
  const [ex] = answer.exchanges!;
  assert.equal(ex!.ok, true);
  assert.deepEqual(ex!.from, { address: '127.0.0.2', port });
  const r = resultOf(normalizeQuery({ server: '127.0.0.1', port, name: 'moved.test', type: 'A', id: 4242 }), answer.exchanges!);
  assert.equal(r.unexpectedSource, true);
  assert.notEqual(r.from?.address, r.sentTo.address);
});

test('udp: a datagram with another id is a stray, the right one still the reply', async () => {
  const { answer } = await runner(req('stray.test'));
  const [ex] = answer.exchanges!;
  assert.equal(ex!.ok, true);
  assert.equal(ex!.stray?.length, 1);
  assert.equal(ex!.stray![0]!.start.slice(0, 4), (4243).toString(16).padStart(4, '0'));
});

test('udp: no reply is a timeout after timeoutMs', async () => {
  const t0 = Date.now();
  const { answer } = await runner(req('silent.test', { timeoutMs: 300 }));
  const [ex] = answer.exchanges!;
  assert.deepEqual([ex!.ok, ex!.error], [false, 'timeout']);
  assert.ok(ex!.ms >= 295 && ex!.ms < 1500, String(ex!.ms));
  assert.ok(Date.now() - t0 < 3000);
});

test('TC over UDP is retried over TCP (reply split across segments, 2-byte framing); or kept when not asked', async () => {
  const { answer } = await runner(req('big.test'));
  assert.deepEqual(answer.exchanges!.map((e) => [e.transport, e.ok]), [['udp', true], ['tcp', true]]);
  const tcp = answer.exchanges![1]!;
  assert.ok(tcp.connectMs !== undefined && tcp.ms >= tcp.connectMs);
  assert.deepEqual(tcp.from, { address: '127.0.0.1', port });
  const r = resultOf(normalizeQuery({ server: '127.0.0.1', port, name: 'big.test', type: 'A', id: 4242 }), answer.exchanges!);
  assert.equal(r.transport, 'tcp');
  assert.equal(r.answers.length, 40);
  assert.equal(r.answers[39]?.data, '192.0.2.40');
  assert.equal(r.truncatedUdp?.flags?.tc, true);
  const kept = await runner(req('big.test', { tcpOnTruncation: false }));
  assert.deepEqual(kept.answer.exchanges!.map((e) => e.transport), ['udp']);
});

test('tcp: asked directly; closed mid-frame; refused on a closed port', async () => {
  const ok = await runner(req('nx.test', { tcp: true }));
  const r = resultOf(normalizeQuery({ server: '127.0.0.1', port, name: 'nx.test', type: 'A', id: 4242, tcp: true }), ok.answer.exchanges!);
  assert.deepEqual([r.ok, r.transport, r.rcode], [true, 'tcp', 'NXDOMAIN']);
  const cut = await runner(req('cut.test', { tcp: true }));
  assert.deepEqual([cut.answer.exchanges![0]!.ok, cut.answer.exchanges![0]!.error], [false, 'closed after 12 of a framed reply']);
  const probe = net.createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
  const closed = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((res) => probe.close(() => res()));
  const refused = await runner({ ...req('ok.test', { tcp: true }), port: closed });
  assert.deepEqual([refused.answer.exchanges![0]!.ok, refused.answer.exchanges![0]!.error], [false, 'refused']);
});

test('bad requests: a server name, a bad message, a bad port (exit 2)', async () => {
  const name = await runner({ ...req('ok.test'), server: 'localhost' });
  assert.equal(name.code, 2);
  assert.match(name.answer.error ?? '', /^bad request: host localhost is not an IP address/);
  const msg = await runner({ ...req('ok.test'), query: 'abc' });
  assert.match(msg.answer.error ?? '', /query is not a hex DNS message of 12\.\.65535 bytes/);
  const p = await runner({ ...req('ok.test'), port: 0 });
  assert.match(p.answer.error ?? '', /port 0 is not in 1\.\.65535/);
});

const root = process.getuid?.() === 0;

test('dnsQuery end to end (own namespace, loopback) with a capture on lo', { skip: root ? false : 'needs root (nsenter, tcpdump)' }, async () => {
  const r = await dnsQuery('/proc/self/ns/net', { server: '127.0.0.1', port, name: 'moved.test', type: 'A' }, { capture: { iface: 'lo' } });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.unexpectedSource, true);
  assert.equal(r.wire?.queries.length, 1);
  assert.equal(r.wire?.replies.length, 1);
  assert.equal(r.wire?.replies[0]?.from.address, '127.0.0.2');
  assert.equal(typeof r.wire?.replies[0]?.udpChecksum, 'number');
  assert.ok(r.pcap && r.pcap.length > 24);
  const tc = await dnsQuery('/proc/self/ns/net', { server: '127.0.0.1', port, name: 'big.test', type: 'A' }, { capture: { iface: 'lo' } });
  assert.equal(tc.transport, 'tcp');
  assert.ok((tc.wire?.replies.length ?? 0) >= 1, 'TCP reply segments');
  assert.equal(tc.truncatedUdp?.wire?.replies.length, 1);
});
