// Owns one probe made with Node's own sockets from inside a node's network namespace:
// `nsenter --net=<path> node runner.mjs '<json request>'` prints exactly one JSON line and exits 0.
// Plain JavaScript so it starts fast (no TypeScript loader); must not resolve names, retry or loop.
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';

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

/** Add a probe here (dns, udp …): a function from the request to a JSON-able answer. */
const OPS = { tcp, http: httpGet };

async function main() {
  let req;
  try {
    req = JSON.parse(process.argv[2] ?? '');
  } catch {
    return { error: 'bad request: argument is not JSON' };
  }
  const op = OPS[req && req.op];
  if (!op) return { error: `bad request: unknown op ${JSON.stringify(req && req.op)}; known: ${Object.keys(OPS).join(', ')}` };
  try {
    return await op(req);
  } catch (err) {
    return { error: `bad request: ${err.message}` };
  }
}

main().then((answer) => {
  process.stdout.write(`${JSON.stringify(answer)}\n`, () => process.exit(answer.error?.startsWith('bad request') ? 2 : 0));
});
