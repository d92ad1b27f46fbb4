// Owns probes made with Node's own sockets from inside a node's network namespace, in two modes:
// one-shot, `nsenter --net=<path> node runner.mjs '<json request>'` prints exactly one JSON line and exits 0;
// agent, `… node runner.mjs --agent <path>` stays up (one per node, started by runner-client.ts) and answers
// JSON lines `{id, …request}` on stdin with `{id, …answer}` lines, concurrently; it exits when stdin closes
// or when <path> no longer is its network namespace (the node is gone).
// Plain JavaScript so it starts fast (no TypeScript loader, no dependencies); must not resolve names or loop,
// and retries only where a protocol says so (DNS: one TCP retry of a truncated UDP reply, when asked).
import net from 'node:net';
import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Names are never resolved: inside a node namespace the host's resolv.conf would point elsewhere. */
function ipOnly(host) {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!net.isIP(h)) throw new Error(`host ${host} is not an IP address (probes do not resolve names)`);
  return h;
}

function elapsed(t0) {
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
}

/** Socket error codes to the short words callers assert on. */
function errorWord(err) {
  switch (err && err.code) {
    case 'ECONNREFUSED': return 'refused';
    case 'ETIMEDOUT': return 'timeout';
    case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EHOSTDOWN': case 'ENETDOWN': return 'unreachable';
    case 'ECONNRESET': return 'reset';
    default: return (err && (err.code || err.message)) || String(err);
  }
}

function timeoutOf(req) {
  const t = req.timeoutMs ?? 3000;
  if (!(Number.isFinite(t) && t > 0 && t <= 120000)) throw new Error(`timeoutMs ${t} is not in 1..120000`);
  return t;
}

/** {op:'tcp', host, port, timeoutMs} → {ok, ms, error?}: one TCP connect, closed at once. */
function tcp(req) {
  const host = ipOnly(String(req.host));
  const port = Number(req.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${req.port} is not in 1..65535`);
  const timeoutMs = timeoutOf(req);
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const sock = net.connect({ host, port });
    const done = (r) => { clearTimeout(timer); sock.destroy(); resolve(r); };
    const timer = setTimeout(() => done({ ok: false, ms: elapsed(t0), error: 'timeout' }), timeoutMs);
    sock.once('connect', () => done({ ok: true, ms: elapsed(t0), local: `${sock.localAddress}:${sock.localPort}` }));
    sock.once('error', (err) => done({ ok: false, ms: elapsed(t0), error: errorWord(err) }));
  });
}

const BODY_START = 512;

/**
 * {op:'http', url, timeoutMs, headers?} → {status?, ms, headers?, bodyStart?, error?}: one GET.
 * ms is the time until the response headers arrived. https does NOT verify certificates (lab use):
 * the answer says so with `insecure: true`.
 */
function httpGet(req) {
  const url = new URL(String(req.url));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`url ${req.url} is not http: or https:`);
  ipOnly(url.hostname);
  const timeoutMs = timeoutOf(req);
  const secure = url.protocol === 'https:';
  const mod = secure ? https : http;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let settled = false;
    const base = secure ? { insecure: true } : {};
    const finish = (r) => { if (settled) return; settled = true; clearTimeout(timer); request.destroy(); resolve({ ...base, ...r }); };
    const request = mod.get(url, {
      headers: { 'user-agent': 'tsunagari-probe', ...(req.headers || {}) },
      agent: false,
      ...(secure ? { rejectUnauthorized: false } : {}),
    }, (res) => {
      const ms = elapsed(t0);
      const chunks = [];
      let size = 0;
      const answer = () => finish({
        status: res.statusCode, ms, headers: res.headers,
        bodyStart: Buffer.concat(chunks).subarray(0, BODY_START).toString('utf8'),
      });
      res.on('data', (c) => { chunks.push(c); size += c.length; if (size >= BODY_START) answer(); });
      res.on('end', answer);
      res.on('error', answer);
    });
    const timer = setTimeout(() => finish({ ms: elapsed(t0), error: 'timeout' }), timeoutMs);
    request.on('error', (err) => finish({ ms: elapsed(t0), error: errorWord(err) }));
  });
}

/** At most this many unexpected datagrams (wrong id, not a response) are reported per UDP exchange. */
const MAX_STRAYS = 8;

function portOf(v) {
  const port = Number(v);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${v} is not in 1..65535`);
  return port;
}

/**
 * One DNS message over UDP from an unconnected socket, so a reply from another address than the one
 * asked is still received (and reported in `from`: dig's "reply from unexpected source"). The first
 * datagram carrying the query's id with QR set is the reply; others are listed in `stray`.
 * Over UDP an ICMP port unreachable is not seen by an unconnected socket: that is a timeout here.
 */
function dnsUdp(server, port, query, timeoutMs) {
  const id = query.readUInt16BE(0);
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: net.isIPv6(server) ? 'udp6' : 'udp4' });
    const stray = [];
    let t0 = process.hrtime.bigint();
    let local;
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve({ transport: 'udp', ...(local ? { local } : {}), ...(stray.length ? { stray } : {}), ...r });
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout', ms: elapsed(t0) }), timeoutMs);
    sock.on('message', (msg, rinfo) => {
      const from = { address: rinfo.address, port: rinfo.port };
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80)) {
        done({ ok: true, ms: elapsed(t0), from, reply: msg.toString('hex') });
      } else if (stray.length < MAX_STRAYS) {
        stray.push({ from, length: msg.length, start: msg.subarray(0, 64).toString('hex') });
      }
    });
    sock.on('error', (err) => done({ ok: false, error: errorWord(err), ms: elapsed(t0) }));
    sock.bind(0, () => {
      const a = sock.address();
      local = { address: a.address, port: a.port };
      t0 = process.hrtime.bigint();
      sock.send(query, port, server, (err) => { if (err) done({ ok: false, error: errorWord(err), ms: elapsed(t0) }); });
    });
  });
}

/** One DNS message over TCP: 2-byte length framing both ways; the time includes the connect. */
function dnsTcp(server, port, query, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const chunks = [];
    let have = 0;
    let local;
    let connectMs;
    let settled = false;
    const sock = net.connect({ host: server, port });
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ transport: 'tcp', ...(local ? { local } : {}), ...(connectMs !== undefined ? { connectMs } : {}), ...r });
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout', ms: elapsed(t0) }), timeoutMs);
    sock.once('connect', () => {
      connectMs = elapsed(t0);
      local = { address: sock.localAddress, port: sock.localPort };
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (c) => {
      chunks.push(c);
      have += c.length;
      if (have < 2) return;
      const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(buf);
      const need = 2 + buf.readUInt16BE(0);
      if (have >= need) {
        done({ ok: true, ms: elapsed(t0), from: { address: sock.remoteAddress, port: sock.remotePort }, reply: buf.subarray(2, need).toString('hex') });
      }
    });
    sock.once('end', () => done({ ok: false, error: have ? `closed after ${have} of a framed reply` : 'closed', ms: elapsed(t0) }));
    sock.once('error', (err) => done({ ok: false, error: errorWord(err), ms: elapsed(t0) }));
  });
}

/**
 * {op:'dns', server, port, query: hex, tcp?, tcpOnTruncation?, timeoutMs} → {exchanges: [...]}: the
 * query (encoded by the caller) over UDP, or TCP; a UDP reply with TC set is retried once over TCP when
 * asked. Each exchange: {transport, ok, ms, error?, from?, local?, reply?: hex, stray?}; timeoutMs is per
 * exchange. The reply is not decoded here (dns.ts does).
 */
async function dns(req) {
  const server = ipOnly(String(req.server));
  const port = portOf(req.port ?? 53);
  const timeoutMs = timeoutOf(req);
  if (typeof req.query !== 'string' || !/^([0-9a-f]{2}){12,65535}$/i.test(req.query)) throw new Error('query is not a hex DNS message of 12..65535 bytes');
  const query = Buffer.from(req.query, 'hex');
  if (req.tcp) return { exchanges: [await dnsTcp(server, port, query, timeoutMs)] };
  const udp = await dnsUdp(server, port, query, timeoutMs);
  const truncated = udp.ok && (Buffer.from(udp.reply.slice(4, 6), 'hex')[0] & 0x02) !== 0;
  if (!truncated || req.tcpOnTruncation === false) return { exchanges: [udp] };
  return { exchanges: [udp, await dnsTcp(server, port, query, timeoutMs)] };
}

/** Add a probe here (udp …): a function from the request to a JSON-able answer. */
const OPS = { tcp, http: httpGet, dns };

/** One request (already parsed) → its answer; a malformed request gives `{error: 'bad request: …'}`. */
async function answer(req) {
  const op = OPS[req && req.op];
  if (!op) return { error: `bad request: unknown op ${JSON.stringify(req && req.op)}; known: ${Object.keys(OPS).join(', ')}` };
  try {
    return await op(req);
  } catch (err) {
    return { error: `bad request: ${err.message}` };
  }
}

async function oneShot() {
  let req;
  try {
    req = JSON.parse(process.argv[2] ?? '');
  } catch {
    return { error: 'bad request: argument is not JSON' };
  }
  return answer(req);
}

/** The inode of a namespace file, or undefined when it is gone. */
function nsInode(path) {
  try { return statSync(path).ino; } catch { return undefined; }
}

/** How often the agent checks that its node still exists. */
const WATCH_MS = 500;

function agent(nsPath) {
  const write = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  // The node is gone when its namespace file vanished or names another namespace (a container's pid was
  // reused or the netns re-created): then nobody can ask us anything useful, and we must not keep the
  // old namespace alive.
  const mine = nsInode('/proc/self/ns/net');
  const watch = setInterval(() => {
    if (nsInode(nsPath) !== mine) process.exit(0);
  }, WATCH_MS);
  watch.unref();
  // stdin closed = the client is gone: answer what is in flight (each op is bounded by its timeout), then exit.
  let pending = 0;
  let closed = false;
  const settle = () => { if (closed && pending === 0) process.exit(0); };
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    let req;
    try { req = JSON.parse(line); } catch { write({ id: null, error: 'bad request: line is not JSON' }); return; }
    const id = req && req.id;
    pending++;
    answer(req).then((a) => write({ ...a, id }), (err) => write({ id, error: `bad request: ${err.message}` }))
      .finally(() => { pending--; settle(); });
  });
  lines.on('close', () => { closed = true; settle(); });
  process.stdout.on('error', () => process.exit(0));   // the client is gone
}

if (process.argv[2] === '--agent') {
  agent(process.argv[3] ?? '/proc/self/ns/net');
} else {
  oneShot().then((a) => {
    process.stdout.write(`${JSON.stringify(a)}\n`, () => process.exit(a.error?.startsWith('bad request') ? 2 : 0));
  });
}
