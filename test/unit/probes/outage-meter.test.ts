// The outage meter's programs on loopback (no namespace): the responder echoes and sends its own reverse
// probes, the sender keeps its pace and logs echoes and reverse arrivals, both read our CLOCK_MONOTONIC,
// obey stop/exit, stop by themselves after maxMs, and refuse bad requests. Also the meter's options and
// which node owns a target address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { METER_PATH, meterOptions, ownerOf } from '../../../src/probes/outage.js';
import { parseTopology } from '../../../src/topology/load.js';
import { run } from '../../../src/util/exec.js';
import { UserError } from '../../../src/util/errors.js';

function start(req: object): { lines: () => string[]; send: (c: string) => void; exited: Promise<number | null> } {
  const c = spawn(process.execPath, [METER_PATH, JSON.stringify(req)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  c.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return { lines: () => out.split('\n').filter(Boolean), send: (x) => c.stdin.write(`${x}\n`), exited: new Promise((res) => c.on('exit', res)) };
}
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
async function until(pred: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !pred() && Date.now() < end;) await sleep(10);
}
const of = (lines: string[], k: string): number[][] => lines.filter((l) => l.startsWith(`${k} `)).map((l) => l.split(' ').slice(1).map(Number));

test('sender and responder on loopback: pace, echoes, reverse probes, same clock, stop then exit', async () => {
  const base = process.hrtime.bigint();
  const common = { run: 4242, intervalMs: 5, maxMs: 20_000, baseNs: String(base) };
  const resp = start({ ...common, role: 'responder', family: 4 });
  await until(() => resp.lines().some((l) => l.startsWith('ready ')), 10_000);
  const [readyNs, port] = resp.lines()[0]!.split(' ').slice(1).map((x) => BigInt(x));
  assert.ok(readyNs! > base && readyNs! <= process.hrtime.bigint(), 'the responder reads our clock');
  const snd = start({ ...common, role: 'sender', target: '127.0.0.1', port: Number(port) });
  await until(() => of(snd.lines(), 's').length >= 100, 10_000);
  snd.send('stop');
  resp.send('stop');
  await sleep(150);
  snd.send('exit');
  resp.send('exit');
  assert.equal(await snd.exited, 0);
  assert.equal(await resp.exited, 0);
  const s = snd.lines();
  const r = resp.lines();
  const sent = of(s, 's');
  assert.ok(sent.length >= 100);
  assert.deepEqual(sent.map((x) => x[0]), sent.map((_, i) => i), 'seq 0, 1, 2, …');
  const gaps = sent.slice(1).map((x, i) => x[1]! - sent[i]![1]!);
  // The pace, robust to a stall of this (shared, loaded) machine: the median gap is the interval (a stall
  // skips slots, which moves a mean, not a median).
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]!;
  assert.ok(median > 4.5 && median < 5.6, `median gap ${median} ms`);
  assert.equal(of(r, 'f').length, sent.length, 'every probe arrived');
  assert.equal(of(s, 'e').length, sent.length, 'every probe echoed');
  assert.ok(of(r, 'R').length >= 90 && of(s, 'r').length === of(r, 'R').length, 'reverse probes sent and received');
  for (const [seq, t] of of(r, 'f')) {
    const sentT = sent[seq!]![1]!;
    assert.ok(t! >= sentT && t! - sentT < 250, `forward probe ${seq}: sent ${sentT}, arrived ${t}`);
  }
  assert.match(r.find((l) => l.startsWith('p '))!, /^p 127\.0\.0\.1 \d+$/);
  assert.ok(s.some((l) => l.startsWith('stopped ')) && s[s.length - 1]!.startsWith('end '));
});

test('a meter never stopped stops sending after maxMs and exits by itself', async () => {
  const t0 = Date.now();
  const resp = start({ role: 'responder', run: 1, intervalMs: 10, maxMs: 300, lingerMs: 100, baseNs: '0', family: 4 });
  assert.equal(await resp.exited, 0);
  assert.ok(Date.now() - t0 < 5000);
  assert.ok(resp.lines().some((l) => l.startsWith('stopped ')));
});

test('bad requests are refused with exit 2', async () => {
  for (const [req, why] of [
    [{ role: 'x', run: 1, intervalMs: 5, maxMs: 1000 }, /unknown role "x"; known: sender, responder/],
    [{ role: 'sender', run: 1, intervalMs: 5, maxMs: 1000, target: 'example.com', port: 9 }, /not an IP address/],
    [{ role: 'sender', run: 1, intervalMs: 0, maxMs: 1000, target: '127.0.0.1', port: 9 }, /intervalMs 0 is not in 1\.\.1000/],
    [{ role: 'responder', run: 1, intervalMs: 5, maxMs: 1e9 }, /maxMs 1000000000 is not in/],
  ] as const) {
    const r = await run(process.execPath, [METER_PATH, JSON.stringify(req)], { timeoutMs: 10_000 });
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stdout, why);
  }
});

test('meter options: defaults and bounds', () => {
  assert.deepEqual(meterOptions(), { intervalMs: 5, lateMs: 100, maxMs: 300_000, icmp: true, startTimeoutMs: 15_000 });
  assert.throws(() => meterOptions({ intervalMs: 500 }), (e: unknown) => e instanceof UserError && /cannot probe every 500 ms \(must be 1\.\.100 ms\)/.test(e.message));
  assert.throws(() => meterOptions({ maxMs: 10 }), /must be 1 s \.\. 1 h/);
});

test('the responder runs in the node that owns the target address (IPv6 compared canonically)', () => {
  const lab = parseTopology(`
name: own
runtime: netns
nodes:
  a: { kind: host, interfaces: { eth1: { ipv4: 10.44.0.1/24, ipv6: "fd00:44:0:0::1/64" } } }
  b: { kind: host, interfaces: { eth1: { ipv4: 10.44.0.2/24 } } }
switches: { s: {} }
links:
  - endpoints: [a:eth1, s]
  - endpoints: [b:eth1, s]
`, 'own.yaml', '/tmp');
  assert.equal(ownerOf(lab, '10.44.0.2'), 'b');
  assert.equal(ownerOf(lab, 'fd00:44::1'), 'a');
  assert.equal(ownerOf(lab, '10.44.0.9'), undefined);
});
