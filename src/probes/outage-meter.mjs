// Owns the two halves of the outage meter that run inside lab namespaces (`nsenter --net=<path> node
// outage-meter.mjs '<json>'`): the sender (sequence-numbered UDP probes at a fixed pace, timestamps of
// echoes and of the responder's own reverse probes) and the responder (timestamps forward arrivals,
// echoes them, sends its own reverse probes to the sender). Plain JavaScript, no dependencies; it only
// logs (one line per event, stdout) — outage.ts and outage-analysis.ts make sense of the lines.
// Must not resolve names, send anywhere but the one address it is given (or learnt from a probe), or
// outlive its bounds: it stops sending after maxMs and exits soon after, on stdin EOF, 'exit' or SIGTERM.
//
// Times are CLOCK_MONOTONIC (process.hrtime) in ms relative to `baseNs`, the parent's time zero: the
// namespaces share the machine's clock, which the `ready` line lets the parent verify.
//
// Lines: ready <absolute ns> <port> | s <seq> <t> (sent) | e <seq> <t> (echo back) | r <rseq> <t> (reverse
// probe arrived) | f <seq> <t> (forward probe arrived, responder) | R <rseq> <t> (reverse probe sent) |
// p <address> <port> (peer learnt) | x <seq> <error> (send failed) | stopped <t> | end <t>
import dgram from 'node:dgram';
import net from 'node:net';

const MAGIC = 0x54534f4d; // 'TSOM'
const KIND = { probe: 1, echo: 2, reverse: 3 };
const SIZE = 64;
const FLUSH_MS = 20;

function fail(msg) {
  process.stdout.write(`error ${msg}\n`, () => process.exit(2));
}

let req;
try {
  req = JSON.parse(process.argv[2] ?? '');
} catch {
  fail('bad request: argument is not JSON');
}

const num = (v, lo, hi, what) => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= lo && n <= hi)) throw new Error(`${what} ${v} is not in ${lo}..${hi}`);
  return n;
};

let cfg;
try {
  if (req.role !== 'sender' && req.role !== 'responder') throw new Error(`unknown role ${JSON.stringify(req.role)}; known: sender, responder`);
  cfg = {
    role: req.role,
    run: num(req.run, 0, 0xffffffff, 'run'),
    intervalMs: num(req.intervalMs, 1, 1000, 'intervalMs'),
    maxMs: num(req.maxMs, 100, 3_600_000, 'maxMs'),
    lingerMs: num(req.lingerMs ?? 1000, 0, 60_000, 'lingerMs'),
    baseNs: BigInt(String(req.baseNs ?? '0').replace(/[^0-9]/g, '') || '0'),
    family: req.family === 6 ? 6 : 4,
  };
  if (cfg.role === 'sender') {
    if (!net.isIP(String(req.target))) throw new Error(`target ${req.target} is not an IP address (the meter does not resolve names)`);
    cfg.target = String(req.target);
    cfg.family = net.isIPv6(cfg.target) ? 6 : 4;
    cfg.port = num(req.port, 1, 65535, 'port');
  }
} catch (e) {
  fail(`bad request: ${e.message}`);
}

if (cfg) main();

function main() {
  const rel = () => Number(process.hrtime.bigint() - cfg.baseNs) / 1e6;
  const ms = (t) => t.toFixed(3);
  let out = '';
  const log = (line) => { out += `${line}\n`; if (out.length > 16_384) flush(); };
  const flush = () => { if (out) { process.stdout.write(out); out = ''; } };
  const flusher = setInterval(flush, FLUSH_MS);

  const sock = dgram.createSocket({ type: cfg.family === 6 ? 'udp6' : 'udp4' });
  let sending = true;
  let exiting = false;
  let timer;

  const exit = (code = 0) => {
    if (exiting) return;
    exiting = true;
    sending = false;
    clearTimeout(timer);
    clearInterval(flusher);
    log(`end ${ms(rel())}`);
    try { sock.close(); } catch { /* closed */ }
    process.stdout.write(out, () => process.exit(code));
    out = '';
  };
  const stopSending = () => {
    if (!sending) return;
    sending = false;
    clearTimeout(timer);
    log(`stopped ${ms(rel())}`);
  };

  // Bounds: stop sending after maxMs, exit lingerMs later (late replies still counted meanwhile).
  setTimeout(() => { stopSending(); setTimeout(() => exit(0), cfg.lingerMs).unref(); }, cfg.maxMs).unref();
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  process.stdin.setEncoding('utf8');
  let cmd = '';
  process.stdin.on('data', (d) => {
    cmd += d;
    let nl;
    while ((nl = cmd.indexOf('\n')) >= 0) {
      const c = cmd.slice(0, nl).trim();
      cmd = cmd.slice(nl + 1);
      if (c === 'stop') stopSending();
      else if (c === 'exit') exit(0);
    }
  });
  process.stdin.on('end', () => exit(0));
  process.stdin.on('error', () => exit(0));

  const packet = (kind, seq, t, t2 = 0) => {
    const b = Buffer.alloc(SIZE);
    b.writeUInt32BE(MAGIC, 0);
    b[4] = kind;
    b.writeUInt32BE(cfg.run, 8);
    b.writeUInt32BE(seq >>> 0, 12);
    b.writeDoubleBE(t, 16);
    b.writeDoubleBE(t2, 24);
    return b;
  };
  const ours = (msg) => msg.length >= 32 && msg.readUInt32BE(0) === MAGIC && msg.readUInt32BE(8) === cfg.run;

  /** Calls fn every intervalMs on an absolute schedule; after a stall, missed slots are skipped (no burst).
   *  Timers have 1 ms granularity: the pace jitters by about 1 ms, well below the resolution asked. */
  const pace = (fn) => {
    const t0 = rel();
    let slot = 0;
    const tick = () => {
      if (!sending) return;
      fn();
      const now = rel();
      slot = Math.max(slot + 1, Math.floor((now - t0) / cfg.intervalMs) + 1);
      timer = setTimeout(tick, Math.max(0, t0 + slot * cfg.intervalMs - now));
    };
    tick();
  };

  sock.on('error', (e) => { log(`x - ${e.code || e.message}`); });

  if (cfg.role === 'sender') {
    let seq = 0;
    sock.on('message', (msg) => {
      if (!ours(msg)) return;
      const t = rel();
      if (msg[4] === KIND.echo) log(`e ${msg.readUInt32BE(12)} ${ms(t)}`);
      else if (msg[4] === KIND.reverse) log(`r ${msg.readUInt32BE(12)} ${ms(t)}`);
    });
    sock.bind(0, () => {
      log(`ready ${process.hrtime.bigint()} ${sock.address().port}`);
      flush();
      pace(() => {
        const n = seq++;
        const t = rel();
        log(`s ${n} ${ms(t)}`);
        sock.send(packet(KIND.probe, n, t), cfg.port, cfg.target, (err) => { if (err) log(`x ${n} ${err.code || err.message}`); });
      });
    });
  } else {
    let peer;
    let rseq = 0;
    const reverse = () => {
      const n = rseq++;
      const t = rel();
      log(`R ${n} ${ms(t)}`);
      sock.send(packet(KIND.reverse, n, t), peer.port, peer.address, (err) => { if (err) log(`x R${n} ${err.code || err.message}`); });
    };
    sock.on('message', (msg, rinfo) => {
      if (!ours(msg) || msg[4] !== KIND.probe) return;
      const t = rel();
      const seq = msg.readUInt32BE(12);
      log(`f ${seq} ${ms(t)}`);
      const echo = Buffer.from(msg);
      echo[4] = KIND.echo;
      echo.writeDoubleBE(t, 24);
      sock.send(echo, rinfo.port, rinfo.address, () => { /* a lost echo is what the sender measures */ });
      // The peer is the latest probe's source: a failover may change the sender's source address.
      const first = !peer;
      if (!peer || peer.address !== rinfo.address || peer.port !== rinfo.port) {
        peer = { address: rinfo.address, port: rinfo.port };
        log(`p ${peer.address} ${peer.port}`);
      }
      if (first && sending) pace(reverse);
    });
    sock.bind(Number(req.port ?? 0), () => {
      log(`ready ${process.hrtime.bigint()} ${sock.address().port}`);
      flush();
    });
  }
}
