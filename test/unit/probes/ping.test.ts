// iputils ping: the argv we build (IP literals only, fractional -W, bounded counts) and parsing of its
// output — replies, loss, ICMP errors, "Network is unreachable" — in IPv4 and IPv6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmUnreachable, ipLiteralFamily, parseFpingSummary, parsePing, pingArgs } from '../../../src/probes/ping.js';
import { UserError } from '../../../src/util/errors.js';

const OK4 = `PING 10.31.1.20 (10.31.1.20) 56(84) bytes of data.
64 bytes from 10.31.1.20: icmp_seq=1 ttl=64 time=0.235 ms
64 bytes from 10.31.1.20: icmp_seq=2 ttl=64 time=0.711 ms

--- 10.31.1.20 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 406ms
rtt min/avg/max/mdev = 0.235/0.473/0.711/0.219 ms`;

const OK6 = `PING fd00:9::2(fd00:9::2) 56 data bytes
64 bytes from fd00:9::2: icmp_seq=1 ttl=64 time=0.047 ms

--- fd00:9::2 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.047/0.047/0.047/0.000 ms`;

const LOST = `PING 10.9.0.3 (10.9.0.3) 56(84) bytes of data.

--- 10.9.0.3 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 101ms`;

const PARTIAL = `PING 10.31.1.20 (10.31.1.20) 56(84) bytes of data.

--- 10.31.1.20 ping statistics ---
40 packets transmitted, 27 received, 32.5% packet loss, time 812ms
rtt min/avg/max/mdev = 0.129/0.205/0.369/0.042 ms`;

const HOST_UNREACH = `PING 10.55.0.1 (10.55.0.1) 56(84) bytes of data.
From 10.9.0.2 icmp_seq=1 Destination Host Unreachable

--- 10.55.0.1 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms`;

const NET_UNREACH = 'ping: connect: Network is unreachable';

test('a reply gives sent, received and the average rtt', () => {
  const r = parsePing('10.31.1.20', OK4);
  assert.deepEqual({ ...r, output: undefined }, { target: '10.31.1.20', sent: 2, received: 2, rttMs: 0.473, output: undefined });
  assert.equal(r.output, OK4);
  assert.deepEqual([parsePing('fd00:9::2', OK6).received, parsePing('fd00:9::2', OK6).rttMs], [1, 0.047]);
});

test('loss, partial loss and ICMP errors', () => {
  const lost = parsePing('10.9.0.3', LOST);
  assert.deepEqual([lost.sent, lost.received, lost.rttMs, lost.error], [2, 0, undefined, undefined]);
  const partial = parsePing('10.31.1.20', PARTIAL);
  assert.deepEqual([partial.sent, partial.received, partial.rttMs], [40, 27, 0.205]);
  const hu = parsePing('10.55.0.1', HOST_UNREACH);
  assert.deepEqual([hu.sent, hu.received, hu.error], [1, 0, 'Destination Host Unreachable']);
  const nu = parsePing('10.99.0.1', NET_UNREACH);
  assert.deepEqual([nu.sent, nu.received, nu.error], [0, 0, 'Network is unreachable']);
});

test('argv: numeric, family from the address, -W in seconds with fractions, interval only for several', () => {
  assert.deepEqual(pingArgs('10.0.0.1'), ['-n', '-4', '-c', '1', '-W', '1', '10.0.0.1']);
  assert.deepEqual(pingArgs('fd00::1', { timeoutMs: 250 }), ['-n', '-6', '-c', '1', '-W', '0.25', 'fd00::1']);
  assert.deepEqual(pingArgs('10.0.0.1', { count: 40, intervalMs: 20, timeoutMs: 500, size: 1400 }),
    ['-n', '-4', '-c', '40', '-W', '0.5', '-i', '0.02', '-s', '1400', '10.0.0.1']);
  assert.deepEqual(pingArgs('fe80::1%eth1'), ['-n', '-6', '-c', '1', '-W', '1', 'fe80::1%eth1']);
});

test('only IP literals: names, options and wrong families are refused before anything runs', () => {
  assert.throws(() => pingArgs('server'), (e: unknown) => e instanceof UserError && /^cannot ping server \(not an IP address\); hint: /.test(e.message));
  assert.throws(() => pingArgs('-f'), /cannot ping -f \(not an IP address\)/);
  assert.throws(() => pingArgs('10.0.0.1', { family: 6 }), /cannot ping 10.0.0.1 over IPv6 \(it is an IPv4 address\)/);
  assert.throws(() => pingArgs('10.0.0.1', { count: 0 }), /count 0 is not 1\.\.10000/);
  assert.throws(() => pingArgs('10.0.0.1', { count: 1e9 }), /count/);
  assert.equal(ipLiteralFamily('10.0.0.1'), 4);
  assert.equal(ipLiteralFamily('fe80::1%eth1'), 6);
  assert.equal(ipLiteralFamily('10.0.0.1%eth1'), 0);
  assert.equal(ipLiteralFamily('fe80::1%a b'), 0);
  assert.equal(ipLiteralFamily('example.org'), 0);
});

test('fping summaries: replies with their average RTT, silent targets with none', () => {
  const m = parseFpingSummary([
    '10.252.8.2 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.021/0.021/0.021',
    'fd00:bb::2 : xmt/rcv/%loss = 1/0/100%',
    'ICMP Network Unreachable from 10.252.8.2 for ICMP Echo sent to 10.252.7.5',
    '127.0.0.1  : xmt/rcv/%loss = 3/2/33%, min/avg/max = 0.007/0.010/0.013',
  ].join('\n'));
  assert.deepEqual([...m.keys()], ['10.252.8.2', 'fd00:bb::2', '127.0.0.1']);
  assert.deepEqual([m.get('10.252.8.2')?.received, m.get('10.252.8.2')?.rttMs], [1, 0.021]);
  assert.deepEqual([m.get('fd00:bb::2')?.sent, m.get('fd00:bb::2')?.received, m.get('fd00:bb::2')?.rttMs], [1, 0, undefined]);
  assert.deepEqual([m.get('127.0.0.1')?.sent, m.get('127.0.0.1')?.received, m.get('127.0.0.1')?.rttMs], [3, 2, 0.01]);
});

// ---- a probe that could not run is not "unreachable" ---------------------------------------------

test('parsePing: a tool that never probed is `failed`; the network saying no is not', () => {
  for (const out of ['ping: socket: Operation not permitted\n', 'nsenter: cannot open /proc/4242/ns/net: No such file or directory\n',
    'sh: 1: ping: not found\n', '']) {
    const r = parsePing('10.0.0.2', out);
    assert.ok(r.failed, `failed for ${JSON.stringify(out)}`);
    assert.equal(r.received, 0);
  }
  assert.equal(parsePing('10.0.0.2', 'ping: socket: Operation not permitted\n').failed, 'ping: socket: Operation not permitted');
  for (const out of ['ping: connect: Network is unreachable\n',
    'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\nFrom 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n\n--- 10.0.0.2 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n',
    'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n\n--- 10.0.0.2 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n']) {
    assert.equal(parsePing('10.0.0.2', out).failed, undefined, out);
  }
});

test('confirmUnreachable: a probe that cannot run fails the "cannot reach" instead of passing it (old behaviour: unreachable)', async () => {
  const runner = (stdout: string, code: number) => ({ label: 'fake', run: async () => ({ code, stdout, stderr: '', timedOut: false }) as never });
  const eperm = await confirmUnreachable(runner('ping: socket: Operation not permitted\n', 2), '10.0.0.2', { probes: 2 });
  assert.equal(eperm.unreachable, false);
  assert.equal(eperm.failed, 'ping: socket: Operation not permitted');
  const quiet = await confirmUnreachable(runner('1 packets transmitted, 0 received, 100% packet loss, time 0ms\n', 1), '10.0.0.2', { probes: 2 });
  assert.deepEqual([quiet.unreachable, quiet.failed, quiet.probes.length], [true, undefined, 2]);
});
