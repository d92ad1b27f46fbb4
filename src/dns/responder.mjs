// Owns tsunagari's programmable DNS responder process, run inside a lab node's network namespace:
//   launch.pl ADDRESS... -- node responder.mjs serve --fixture FILE [--node NAME] [--control SOCKET]
//   node responder.mjs probe ADDRESS [PORT]      (health check: exit 0 when any DNS reply arrives within 1 s)
// UDP sockets come from launch.pl (TSUNAGARI_SOCKETS; a plain and a zero-checksum socket per address);
// TCP it opens itself. Answers follow fixture.mjs; a unix control socket changes behaviour at run time.
// Must not resolve names or send anything but replies to queries it received (and the one probe query).
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import dnsPacket from 'dns-packet';
import { compileFixture, overridesProblems, respond, canonicalIp } from './fixture.mjs';

const now = () => new Date().toISOString();
const log = (line) => process.stdout.write(`${now()} ${line}\n`);
const die = (line) => { process.stderr.write(`${now()} responder: ${line}\n`); process.exit(1); };

function args(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) out[a.slice(2)] = argv[++i];
    else out._.push(a);
  }
  return out;
}

/** `4/10.0.0.53/53/on/3,…` from launch.pl. */
export function parseSockets(env) {
  if (!env) return [];
  return env.split(',').filter(Boolean).map((e) => {
    const [family, address, port, csum, fd] = e.split('/');
    return { family: Number(family), address, port: Number(port), csum, fd: Number(fd) };
  });
}

function describeReply(r) {
  if (r.action === 'drop') return 'dropped';
  const bits = [r.rcode];
  if (r.truncated) bits.push('truncated');
  if (r.zeroChecksum) bits.push('checksum 0');
  if (r.replyFrom) bits.push(`from ${r.replyFrom}`);
  if (r.delayMs) bits.push(`after ${r.delayMs} ms`);
  return bits.join(', ');
}

async function serve(opt) {
  if (!opt.fixture) die('serve needs --fixture FILE');
  const specs = parseSockets(process.env.TSUNAGARI_SOCKETS);
  if (!specs.length) die('no UDP sockets (start me through launch.pl, which sets TSUNAGARI_SOCKETS)');
  const addresses = [...new Set(specs.map((s) => s.address))];
  let text;
  try { text = readFileSync(opt.fixture, 'utf8'); } catch (e) { die(`cannot read fixture ${opt.fixture} (${e.code ?? e.message})`); }
  const { plan, errors } = compileFixture(text, opt.fixture, { addresses, node: opt.node });
  if (errors.length) die(`invalid fixture:\n${errors.join('\n')}`);

  let overrides = {};
  const stats = { queries: 0, replies: 0, dropped: 0, udp: 0, tcp: 0, zeroChecksum: 0, truncated: 0 };

  // UDP: one plain and one zero-checksum socket per address, both bound to address:port (SO_REUSEPORT).
  const socks = new Map(); // `${address}/${csum}` → dgram socket
  await Promise.all(specs.map((s) => new Promise((resolve, reject) => {
    const sock = dgram.createSocket(s.family === 6 ? 'udp6' : 'udp4');
    sock.once('error', reject);
    sock.bind({ fd: s.fd }, () => { sock.off('error', reject); resolve(); });
    sock.on('error', (e) => log(`udp ${s.address}: ${e.message}`));
    sock.on('message', (msg, rinfo) => onQuery(msg, { transport: 'udp', local: s.address, port: s.port, family: s.family, rinfo }));
    socks.set(`${s.address}/${s.csum}`, sock);
  }))).catch((e) => die(`cannot use the sockets from launch.pl (${e.message})`));

  function send(reply, ctx) {
    stats.replies++;
    if (reply.truncated) stats.truncated++;
    if (ctx.transport === 'tcp') {
      if (ctx.conn.destroyed) return;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.packet.length);
      ctx.conn.write(Buffer.concat([len, reply.packet]));
      return;
    }
    let from = ctx.local;
    if (reply.replyFrom && (net.isIPv6(reply.replyFrom) ? 6 : 4) === ctx.family) from = reply.replyFrom;
    const csum = reply.zeroChecksum ? 'off' : 'on';
    const sock = socks.get(`${from}/${csum}`) ?? socks.get(`${ctx.local}/${csum}`);
    if (reply.zeroChecksum) stats.zeroChecksum++;
    sock.send(reply.packet, ctx.rinfo.port, ctx.rinfo.address);
  }

  function onQuery(msg, ctx) {
    stats.queries++;
    stats[ctx.transport]++;
    let query;
    try { query = dnsPacket.decode(msg); } catch { log(`${ctx.transport} from ${peer(ctx)}: undecodable ${msg.length} bytes, ignored`); return; }
    if (query.type !== 'query') return;
    const reply = respond(plan, query, ctx.transport, overrides);
    const q = query.questions?.[0];
    const rule = reply.behaviour.rule ? ` (rule ${reply.behaviour.rule})` : '';
    log(`${ctx.transport} ${peer(ctx)} → ${ctx.local} ${q ? `${q.name} ${q.type}` : '(no question)'}: ${describeReply(reply)}${rule}`);
    if (reply.action === 'drop') { stats.dropped++; return; }
    if (reply.delayMs > 0) setTimeout(() => send(reply, ctx), reply.delayMs);
    else send(reply, ctx);
  }

  // TCP: one listener per address, RFC 1035 4.2.2 length-prefixed messages, idle connections closed after 10 s.
  if (plan.tcp) {
    await Promise.all(addresses.map((address) => new Promise((resolve) => {
      const server = net.createServer((conn) => {
        conn.setTimeout(10000, () => conn.destroy());
        conn.on('error', () => {});
        let buf = Buffer.alloc(0);
        conn.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 2) {
            const len = buf.readUInt16BE(0);
            if (buf.length < 2 + len) break;
            const msg = buf.subarray(2, 2 + len);
            buf = buf.subarray(2 + len);
            onQuery(msg, { transport: 'tcp', local: address, conn, rinfo: { address: conn.remoteAddress, port: conn.remotePort } });
          }
        });
      });
      server.once('error', (e) => die(`cannot listen on TCP ${address}:${specs[0].port} (${e.message})`));
      server.listen({ host: address, port: specs.find((s) => s.address === address).port }, resolve);
    })));
  }

  // Control socket: one JSON request per line → one JSON answer per line.
  if (opt.control) {
    rmSync(opt.control, { force: true });
    const ctl = net.createServer((conn) => {
      conn.setEncoding('utf8');
      conn.on('error', () => {});
      let buf = '';
      conn.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          conn.write(`${JSON.stringify(control(line))}\n`);
        }
      });
    });
    await new Promise((resolve) => {
      ctl.once('error', (e) => die(`cannot open control socket ${opt.control} (${e.message})`));
      ctl.listen(opt.control, resolve);
    });
  }

  function control(line) {
    let req;
    try { req = JSON.parse(line); } catch { return { ok: false, error: 'request is not JSON' }; }
    if (req.op === 'get') return { ok: true, overrides, stats };
    if (req.op === 'set' || req.op === 'replace') {
      const given = req.overrides ?? {};
      const unknown = Object.keys(given).filter((k) => !['drop', 'delayMs', 'truncate', 'rcode', 'replyFrom', 'zeroChecksum'].includes(k));
      if (unknown.length) return { ok: false, error: `unknown override ${unknown[0]}; known: drop, delayMs, truncate, rcode, replyFrom, zeroChecksum` };
      const problems = [];
      const clean = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null));
      const checked = overridesProblems(clean, { addresses, node: opt.node }, (_k, m) => problems.push(m));
      if (problems.length) return { ok: false, error: problems.join('; ') };
      const previous = overrides;
      const next = req.op === 'replace' ? {} : { ...overrides };
      for (const [k, v] of Object.entries(given)) if (v === null) delete next[k];
      overrides = { ...next, ...checked };
      log(`control: overrides ${JSON.stringify(previous)} → ${JSON.stringify(overrides)}`);
      return { ok: true, previous, overrides };
    }
    return { ok: false, error: `unknown op ${JSON.stringify(req.op)}; known: get, set, replace` };
  }

  const udp = specs.filter((s) => s.csum === 'on').map((s) => `${s.family === 6 ? `[${s.address}]` : s.address}:${s.port}`);
  log(`ready: zone ${plan.zone}, ${plan.records.length} records, ${plan.rules.length} rules; udp ${udp.join(' ')} (each also with checksum 0)`
    + `${plan.tcp ? '; tcp too' : ''}${opt.control ? `; control ${opt.control}` : ''}`);
  const stop = () => { if (opt.control) rmSync(opt.control, { force: true }); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function peer(ctx) {
  const a = ctx.rinfo.address;
  return `${net.isIPv6(a) ? `[${a}]` : a}#${ctx.rinfo.port}`;
}

/** One query (id.server CH TXT, answered or refused by every server), exit 0 on any reply within 1 s. */
function probe(address, port) {
  if (!net.isIP(address)) die(`probe needs an IP address (got ${address})`);
  const sock = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  const id = Math.floor(Math.random() * 65536);
  const q = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name: 'id.server', type: 'TXT', class: 'CH' }] });
  const timer = setTimeout(() => { process.stdout.write(`no reply from ${address}:${port} within 1 s\n`); process.exit(1); }, 1000);
  sock.on('message', (m) => {
    if (m.length >= 2 && m.readUInt16BE(0) === id) { clearTimeout(timer); process.stdout.write(`reply from ${address}:${port}\n`); process.exit(0); }
  });
  sock.on('error', (e) => { process.stdout.write(`probe ${address}:${port}: ${e.message}\n`); process.exit(1); });
  sock.send(q, port, canonicalIp(address));
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  const a = args(process.argv.slice(2));
  const cmd = a._[0];
  if (cmd === 'serve') serve(a).catch((e) => die(e.stack ?? String(e)));
  else if (cmd === 'probe') probe(a._[1], Number(a._[2] ?? 53));
  else die(`unknown command ${cmd ?? '(none)'}; known: serve, probe`);
}
