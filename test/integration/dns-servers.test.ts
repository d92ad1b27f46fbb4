// Real DNS servers in a lab (test/fixtures/labs/dns-servers.yaml): unbound resolving through nsd, nsd
// answering authoritatively, tsunagari's responder (zero UDP checksums on the wire, TC → TCP, a reply from
// another address, drop, SERVFAIL, run-time overrides), and a router that rewrites zero checksums so the
// client's kernel drops the reply (Udp InCsumErrors) until the undo. A server that fails to start fails
// the lab with its log. Afterwards nothing of either lab is left: containers, namespaces, processes, files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadTopology, parseTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up, type Progress } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { labFilesDir } from '../../src/lab/services.js';
import { breakZeroChecksums, responderState, setResponder } from '../../src/lab/dnsfaults.js';
import { UserError } from '../../src/util/errors.js';
import { run } from '../../src/util/exec.js';
import { labLeftovers } from './helpers.js';

const ctx = new Context();
const LAB = 'dnssrv';
const BAD = 'dnsbad';
const FILE = 'test/fixtures/labs/dns-servers.yaml';
const RESOLVER = '10.53.1.2';
const AUTH = '10.53.1.3';
const EDGE = '10.53.2.53';
const EDGE_LO = '10.53.9.53';
let running: RunningLab;
let clientNs = '';
let clientPid = 0;
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };

/** Everything of our two labs this machine could still hold (responders carry their lab's directory). */
function leftovers(): Promise<string[]> {
  return labLeftovers(ctx, [LAB, BAD], (cmd) => cmd.includes('responder.mjs') && (cmd.includes(labFilesDir(LAB)) || cmd.includes(labFilesDir(BAD))));
}

/** dig inside the client container (its own dig, its namespace). */
async function dig(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await running.exec('client', ['dig', ...args], { timeoutMs: 15_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

/** Runs fn while tcpdump -vv listens on the client's eth1; returns tcpdump's text (bounded: 10 s). */
async function captured(filter: string, fn: () => Promise<unknown>): Promise<string> {
  const td = spawn('nsenter', [`--net=${clientNs}`, 'tcpdump', '-i', 'eth1', '-n', '-vv', '-l', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  td.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  td.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const closed = new Promise<void>((res) => td.on('close', () => res()));
  const kill = setTimeout(() => td.kill('SIGKILL'), 10_000);
  try {
    const deadline = Date.now() + 8000;   // by time: on a loaded machine tcpdump can take seconds to start
    while (Date.now() < deadline && !err.includes('listening on') && td.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    assert.match(err, /listening on eth1/, `tcpdump did not start: ${err}`);
    await fn();
    await new Promise((r) => setTimeout(r, 300)); // the last packet's line
  } finally {
    td.kill('SIGINT');
    await closed;
    clearTimeout(kill);
  }
  return out;
}

interface Seen { src: string; sport: number; dst: string; dport: number; csum: string; text: string; }
/**
 * UDP packets in tcpdump -vv text: the address line after each top-level header line (`12:00:00.1 IP (…)`),
 * with the checksum verdict; packets quoted inside ICMP errors (a tab-indented `IP (…)` header) are skipped.
 */
function udpPackets(text: string): Seen[] {
  const out: Seen[] = [];
  let top = false;
  for (const line of text.split('\n')) {
    if (/^\d\d:\d\d:\d\d\.\d+ IP /.test(line)) { top = true; continue; }
    if (/^\s+IP \(/.test(line)) { top = false; continue; }
    const m = /^\s+(\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): \[([^\]]*)\]/.exec(line);
    if (m && top) out.push({ src: m[1]!, sport: Number(m[2]), dst: m[3]!, dport: Number(m[4]), csum: m[5]!, text: line.trim() });
    top = false;
  }
  return out;
}

function udpCounters(): Record<string, number> {
  const lines = readFileSync(`/proc/${clientPid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

before(async () => {
  for (const lab of [LAB, BAD]) if (Ledger.read(lab)) await teardown(ctx, lab); // only ours, left by an interrupted run
  const services: string[] = [];
  const progress = (p: Progress): void => { if (p.phase === 'service' && p.status === 'done') services.push(`${p.name} ${p.ms} ms`); };
  const r = await up(ctx, await loadTopology(FILE), { progress });
  log(`lab ${LAB} up in ${r.ms} ms; start + health check: ${services.join(', ')}`);
  running = openLab(ctx, LAB);
  const h = await running.handle('client');
  clientNs = h.netnsPath;
  clientPid = h.pid!;
});

after(async () => {
  await teardown(ctx, LAB);
  await teardown(ctx, BAD);
  assert.deepEqual(await leftovers(), [], 'nothing of the DNS labs is left');
});

test('unbound resolves example.test through nsd: exact answers, a CNAME, NXDOMAIN for an unknown name', async () => {
  const a = await dig('+short', `@${RESOLVER}`, 'www.example.test', 'A');
  assert.equal(a.out.trim(), '198.51.100.80', a.out);
  assert.equal((await dig('+short', `@${RESOLVER}`, 'www.example.test', 'AAAA')).out.trim(), '2001:db8::80');
  assert.equal((await dig('+short', `@${RESOLVER}`, 'example.test', 'MX')).out.trim(), '10 mail.example.test.');
  assert.equal((await dig('+short', `@${RESOLVER}`, 'web.example.test', 'A')).out.trim(), 'www.example.test.\n198.51.100.80');
  assert.equal((await dig('+short', `@${RESOLVER}`, 'info.example.test', 'TXT')).out.trim(), '"tsunagari lab zone" "second string"');
  const nx = await dig(`@${RESOLVER}`, 'nope.example.test', 'A');
  assert.match(nx.out, /status: NXDOMAIN/);
  assert.match(nx.out, /flags: qr rd ra;/, 'a recursive answer (ra), not authoritative');
  assert.match(nx.out, /^example\.test\.\s+\d+\s+IN\s+SOA\s+ns1\.example\.test\. hostmaster\.example\.test\. 2024010101 /m, 'negative answer carries the zone SOA');
});

test('nsd answers authoritatively (aa) and says NXDOMAIN for an unknown name', async () => {
  const a = await dig('+norec', `@${AUTH}`, 'www.example.test', 'A');
  assert.match(a.out, /status: NOERROR/);
  assert.match(a.out, /flags: qr aa;/);
  assert.match(a.out, /^www\.example\.test\.\s+300\s+IN\s+A\s+198\.51\.100\.80$/m);
  const nx = await dig('+norec', `@${AUTH}`, 'nope.example.test', 'A');
  assert.match(nx.out, /status: NXDOMAIN/);
  assert.match(nx.out, /flags: qr aa;/);
});

test('responder: the zero_checksum name is answered with UDP checksum 0 on the wire, other names with a good one', async () => {
  let zero = ''; let www = '';
  const text = await captured(`udp port 53 and host ${EDGE}`, async () => {
    zero = (await dig('+short', `@${EDGE}`, 'zero.edge.test', 'A')).out.trim();
    www = (await dig('+short', `@${EDGE}`, 'www.edge.test', 'A')).out.trim();
  });
  assert.equal(zero, '198.51.100.10');
  assert.equal(www, '198.51.100.80');
  const replies = udpPackets(text).filter((p) => p.src === EDGE && p.sport === 53);
  assert.equal(replies.length, 2, text);
  assert.equal(replies[0]!.csum, 'no cksum', replies[0]!.text);
  assert.match(replies[0]!.text, /A\? zero\.edge\.test\./);
  assert.equal(replies[1]!.csum, 'udp sum ok', replies[1]!.text);
});

test('responder: authoritative answers, NXDOMAIN with SOA, REFUSED outside its zone, SERVFAIL by rule', async () => {
  const a = await dig(`@${EDGE}`, 'alias.edge.test', 'A');
  assert.match(a.out, /flags: qr aa rd;/);
  assert.match(a.out, /^alias\.edge\.test\.\s+300\s+IN\s+CNAME\s+www\.edge\.test\.$/m);
  assert.match(a.out, /^www\.edge\.test\.\s+300\s+IN\s+A\s+198\.51\.100\.80$/m);
  const nx = await dig(`@${EDGE}`, 'nope.edge.test', 'A');
  assert.match(nx.out, /status: NXDOMAIN/);
  assert.match(nx.out, /^edge\.test\.\s+60\s+IN\s+SOA\s+ns\.edge\.test\. hostmaster\.edge\.test\. 2024010101 3600 600 86400 60$/m);
  assert.match((await dig(`@${EDGE}`, 'www.example.org', 'A')).out, /status: REFUSED/);
  const sf = await dig(`@${EDGE}`, 'broken.edge.test', 'A');
  assert.match(sf.out, /status: SERVFAIL/);
  assert.match(sf.out, /flags: qr rd;/, 'no aa on a SERVFAIL');
});

test('responder: the truncate name makes dig retry over TCP and succeed', async () => {
  const r = await dig(`@${EDGE}`, 'big.edge.test', 'A');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /;; Truncated, retrying in TCP mode\./);
  assert.match(r.out, /^big\.edge\.test\.\s+300\s+IN\s+A\s+198\.51\.100\.20$/m);
  assert.match(r.out, /SERVER: 10\.53\.2\.53#53\(10\.53\.2\.53\) \(TCP\)/);
});

test('responder: the reply_from name answers from the node\'s other address; the client\'s socket never gets it', async () => {
  const before0 = udpCounters();
  let r = { code: 0, out: '' };
  const text = await captured(`(udp port 53 and (host ${EDGE} or host ${EDGE_LO})) or icmp`, async () => {
    r = await dig('+time=1', '+tries=1', `@${EDGE}`, 'moved.edge.test', 'A');
  });
  const after0 = udpCounters();
  // dig 9.18 (Debian 12) queries over a connected UDP socket: a reply from another address never reaches
  // it (older dig said "reply from unexpected source: …"); the kernel answers port unreachable instead.
  assert.equal(r.code, 9, r.out);
  assert.match(r.out, /communications error to 10\.53\.2\.53#53: timed out|reply from unexpected source: 10\.53\.9\.53#53, expected 10\.53\.2\.53#53/);
  const replies = udpPackets(text).filter((p) => p.sport === 53);
  assert.deepEqual(replies.map((p) => p.src), [EDGE_LO], text);
  assert.match(text, new RegExp(`10\\.53\\.1\\.10 > ${EDGE_LO.replace(/\./g, '\\.')}: ICMP 10\\.53\\.1\\.10 udp port \\d+ unreachable`));
  assert.equal(after0.NoPorts! - before0.NoPorts!, 1, 'Udp NoPorts +1: no socket for a reply from 10.53.9.53');
  log(`reply_from: ${replies[0]!.text}`);
});

test('responder: the drop name gets no answer; the slow name answers after its delay', async () => {
  const t0 = Date.now();
  const d = await dig('+time=1', '+tries=1', `@${EDGE}`, 'void.edge.test', 'A');
  assert.equal(d.code, 9, d.out);
  assert.match(d.out, /communications error to 10\.53\.2\.53#53: timed out/);
  assert.ok(Date.now() - t0 >= 900, 'dig waited for its timeout');
  const s = await dig(`@${EDGE}`, 'slow.edge.test', 'A');
  const ms = Number(/Query time: (\d+) msec/.exec(s.out)?.[1]);
  assert.ok(ms >= 290 && ms < 1500, `slow.edge.test answered after ${ms} ms`);
});

test('setResponder: zero checksums for every name at run time; the undo restores the fixture\'s behaviour', async () => {
  const t0 = Date.now();
  const undo = await setResponder(running, 'edge', { zeroChecksum: true });
  log(`setResponder (control socket + health check): ${Date.now() - t0} ms`);
  try {
    assert.deepEqual((await responderState(running, 'edge')).overrides, { zeroChecksum: true });
    const text = await captured(`udp port 53 and host ${EDGE}`, () => dig('+short', `@${EDGE}`, 'www.edge.test', 'A'));
    const replies = udpPackets(text).filter((p) => p.src === EDGE);
    assert.deepEqual(replies.map((p) => p.csum), ['no cksum'], text);
  } finally {
    await undo();
  }
  await undo(); // idempotent
  assert.deepEqual((await responderState(running, 'edge')).overrides, {});
  const text = await captured(`udp port 53 and host ${EDGE}`, () => dig('+short', `@${EDGE}`, 'www.edge.test', 'A'));
  assert.deepEqual(udpPackets(text).filter((p) => p.src === EDGE).map((p) => p.csum), ['udp sum ok'], text);
  // bad input is refused before anything changes
  await assert.rejects(setResponder(running, 'edge', { rcode: 'BOGUS' as never }), (e: Error) =>
    e instanceof UserError && /^cannot change responder edge \(unknown rcode 'BOGUS'; known: NOERROR, FORMERR, SERVFAIL/.test(e.message));
  await assert.rejects(setResponder(running, 'client', { drop: true }), /node client is kind linux, not a responder; responders in lab dnssrv: edge/);
  const stats = (await responderState(running, 'edge')).stats;
  assert.ok(stats.queries > 10 && stats.zeroChecksum >= 2 && stats.truncated >= 1 && stats.dropped >= 1, JSON.stringify(stats));
});

test('broken NAT: the router rewrites the zero checksum to 0x1234, the client drops the reply (InCsumErrors); undo repairs it', async () => {
  const undo = await breakZeroChecksums(running, 'router', { server: EDGE });
  let r = { code: 0, out: '' };
  let good = '';
  const c0 = udpCounters();
  let c1: Record<string, number>;
  try {
    const text = await captured(`udp port 53 and host ${EDGE}`, async () => {
      const t = Date.now();
      r = await dig('+time=1', '+tries=1', `@${EDGE}`, 'zero.edge.test', 'A');
      log(`dig through the broken router gave up after ${Date.now() - t} ms: ${r.out.split('\n')[0]}`);
    });
    c1 = udpCounters();
    // dig 9.9 (seed 001) timed out. dig 9.18 reads its connected socket non-blocking: the kernel verifies the
    // checksum on that read, drops the datagram and returns nothing, which dig reports as "end of file".
    assert.equal(r.code, 9, r.out);
    assert.match(r.out, /communications error to 10\.53\.2\.53#53: (timed out|end of file)/);
    const replies = udpPackets(text).filter((p) => p.src === EDGE);
    assert.equal(replies.length, 1, text);
    assert.match(replies[0]!.csum, /^bad udp cksum 0x1234 -> 0x[0-9a-f]+!$/, replies[0]!.text);
    assert.ok(c1.InCsumErrors! - c0.InCsumErrors! >= 1, `InCsumErrors ${c0.InCsumErrors} → ${c1.InCsumErrors}`);
    log(`broken NAT: ${replies[0]!.text.slice(0, 90)}…; Udp InCsumErrors ${c0.InCsumErrors} → ${c1.InCsumErrors}`);
    // replies with a real checksum pass the broken router untouched
    good = (await dig('+short', '+time=1', '+tries=1', `@${EDGE}`, 'www.edge.test', 'A')).out.trim();
    assert.equal(good, '198.51.100.80');
  } finally {
    await undo();
  }
  await undo(); // idempotent
  assert.equal((await dig('+short', '+time=2', '+tries=1', `@${EDGE}`, 'zero.edge.test', 'A')).out.trim(), '198.51.100.10', 'works again after the undo');
  const rh = await running.handle('router');
  assert.doesNotMatch((await run('nsenter', [`--net=${rh.netnsPath}`, 'nft', 'list', 'tables'])).stdout, /tsunagari/, 'our table is gone');
  await assert.rejects(breakZeroChecksums(running, 'router', { server: 'fd00::53' }), /not an IPv4 address/);
  await assert.rejects(breakZeroChecksums(running, 'nat', {}), /unknown node nat in lab dnssrv; known: client, resolver, authoritative, router, edge/);
});

test('a DNS server that does not start fails the lab with its log, and the lab is unwound', async () => {
  const dir = path.resolve('test/fixtures/labs');
  const text = [
    `name: ${BAD}`,
    'nodes:',
    '  dns1:',
    '    kind: resolver',
    '    files: [{ src: ../files/bad-unbound.conf, dst: /etc/unbound/unbound.conf }]',
  ].join('\n');
  const t0 = Date.now();
  await assert.rejects(up(ctx, parseTopology(text, 'dnsbad.yaml', dir)), (e: Error) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, /^node dns1: unbound is not ready \(unbound exited\); last lines of \/var\/log\/tsunagari\/unbound\.log:\n/);
    assert.match(e.message, /no-such-option|syntax error/);
    return true;
  });
  const ms = Date.now() - t0;
  log(`failing unbound noticed and unwound in ${ms} ms`);
  assert.ok(ms < 15_000, 'the dead server is noticed before the 20 s health-check deadline');
  assert.deepEqual((await leftovers()).filter((l) => l.startsWith(BAD)), []);
});
