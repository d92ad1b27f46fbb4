// Owns one TCP connection made from the network namespace this process runs in (tsunagari starts it with
// `nsenter --net=<management namespace> node forward.mjs HOST PORT TIMEOUT_MS`), relayed over stdin/stdout
// like OpenSSH's ProxyCommand. Plain JS, no dependencies. Tells its parent on stderr: `connected` once, or
// `error <code> <message>` and exit 2. Dies with its parent: stdin closed → socket ended → exit within 2 s.
import net from 'node:net';

const [host, portText, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const timeoutMs = Number(timeoutText ?? 5000);
if (!host || !Number.isInteger(port) || port < 1 || port > 65535 || !(timeoutMs > 0)) {
  process.stderr.write('error EINVAL usage: forward.mjs HOST PORT TIMEOUT_MS\n');
  process.exit(2);
}

const fail = (code, message) => {
  process.stderr.write(`error ${code} ${String(message).replace(/\s+/g, ' ')}\n`);
  process.exit(2);
};

const sock = net.connect({ host, port });
const timer = setTimeout(() => fail('ETIMEDOUT', `no TCP connection to ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
let connected = false;

sock.once('connect', () => {
  connected = true;
  clearTimeout(timer);
  sock.setNoDelay(true);
  process.stderr.write('connected\n');
  sock.pipe(process.stdout);
  process.stdin.pipe(sock);
});
sock.on('error', (e) => {
  if (!connected) fail(e.code ?? 'ERROR', e.message);
  process.exit(1);
});
sock.on('close', () => process.exit(0));
// The parent is gone or done: finish the connection, but never linger on a peer that no longer answers.
process.stdin.on('end', () => {
  setTimeout(() => { sock.destroy(); process.exit(0); }, 2000).unref();
});
process.stdout.on('error', () => { sock.destroy(); process.exit(0); });
