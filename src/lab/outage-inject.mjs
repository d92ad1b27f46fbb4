// Owns one timed outage inside one network namespace: a single `nft -i` process adds the drop rules and
// flushes them `ms` later, the timing done here (CLOCK_MONOTONIC, spinning the last 2 ms) so the length
// is known to about a millisecond. Run as `nsenter --net=<path> node outage-inject.mjs '<json>'`; prints
// one JSON line. Must not touch any table but the one it is given; the rules it adds also stop matching
// by themselves (nft `meta time`) a few seconds after the intended end, should this process die midway.
//
// Request: {table, family, ready, start, end, ms} — `ready`, `start`, `end` are nft command lines (one
// transaction each); after each, `list table` prints the table, whose closing `}` line is the
// acknowledgement: the transaction was committed between our write and that line.
// Answer: {addSent, addAck, delSent, delAck} in CLOCK_MONOTONIC ms, or {error}.
import { spawn } from 'node:child_process';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((res) => setTimeout(res, Math.max(0, ms)));

function answer(a) {
  process.stdout.write(`${JSON.stringify(a)}\n`, () => process.exit(a.error ? 1 : 0));
}

let req;
try {
  req = JSON.parse(process.argv[2] ?? '');
  if (!/^[A-Za-z0-9_]{1,64}$/.test(req.table)) throw new Error(`table ${req.table} is not a plain name`);
  if (req.family !== 'netdev' && req.family !== 'inet') throw new Error(`family ${req.family} is not netdev or inet`);
  for (const k of ['ready', 'start', 'end']) if (typeof req[k] !== 'string' || req[k].includes('\n')) throw new Error(`${k} is not one line`);
  if (!(Number.isFinite(req.ms) && req.ms >= 1 && req.ms <= 60_000)) throw new Error(`ms ${req.ms} is not in 1..60000`);
} catch (e) {
  answer({ error: `bad request: ${e.message}` });
  req = undefined;
}

if (req) main().catch((e) => answer({ error: e.message }));

async function main() {
  const nft = spawn('nft', ['-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let acks = 0;
  let out = '';
  let err = '';
  let exited = false;
  const ackTimes = [];
  let waiter;   // { n, resolve, reject, timer }: woken by nft's output, its exit, or an error
  const wake = () => {
    if (!waiter) return;
    const w = waiter;
    if (acks >= w.n) { waiter = undefined; clearTimeout(w.timer); w.resolve(ackTimes[w.n - 1]); return; }
    if (/Error/.test(err) || exited) { waiter = undefined; clearTimeout(w.timer); w.reject(new Error(`nft ${w.what}: ${err.trim().split('\n')[0] || 'exited'}`)); }
  };
  nft.stdout.setEncoding('utf8').on('data', (d) => {
    const t = now();
    out += d;
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      if (out.slice(0, nl) === '}') { acks++; ackTimes.push(t); }
      out = out.slice(nl + 1);
    }
    wake();
  });
  nft.stderr.setEncoding('utf8').on('data', (d) => { err += d; wake(); });
  nft.on('exit', () => { exited = true; wake(); });
  nft.on('error', (e) => { err += e.message; exited = true; wake(); });
  nft.stdin.on('error', () => { /* reported through err/exited */ });
  const list = `list table ${req.family} ${req.table}`;
  const write = (line) => nft.stdin.write(`${line}\n${list}\n`);
  const awaitAck = (n, what) => new Promise((resolve, reject) => {
    waiter = { n, what, resolve, reject, timer: setTimeout(() => { waiter = undefined; reject(new Error(`nft ${what}: no acknowledgement within 5 s`)); }, 5000) };
    wake();
  });
  const finish = async () => {
    try { nft.stdin.end(`delete table ${req.family} ${req.table}\n`); } catch { /* gone */ }
    for (let i = 0; i < 300 && !exited; i++) await sleep(10);
    if (!exited) nft.kill('SIGKILL');
  };
  try {
    write(req.ready);
    await awaitAck(1, 'ready');
    const addSent = now();
    write(req.start);
    const addAck = await awaitAck(2, 'start');
    // The end is written ms after the start was: both take about as long to commit.
    const target = addSent + req.ms;
    if (target - now() > 3) await sleep(target - now() - 2);
    while (now() < target) { /* spin the last ms */ }
    const delSent = now();
    write(req.end);
    const delAck = await awaitAck(3, 'end');
    await finish();
    answer({ addSent, addAck, delSent, delAck });
  } catch (e) {
    // Whatever happened, the drop must not stay: end it, then delete the table.
    try { nft.stdin.write(`${req.end}\n`); } catch { /* gone */ }
    await finish();
    answer({ error: e.message });
  }
}
