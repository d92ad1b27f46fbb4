// runner.mjs on loopback (no namespace): one JSON line per request — tcp ok/refused, http status,
// headers and body start, https marked insecure; bad requests and names are refused with exit 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { run } from '../../../src/util/exec.js';
import { RUNNER_PATH } from '../../../src/probes/runner-client.js';

let server: Server;
let port = 0;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/plain', 'x-probe': 'yes' }); res.end('hello from the lab\n'); return; }
    if (req.url === '/big') { res.writeHead(200); res.end('x'.repeat(5000)); return; }
    res.writeHead(404); res.end('not here');
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((res) => server.close(() => res())));

async function runner(req: unknown): Promise<{ code: number; answer: Record<string, unknown> }> {
  const r = await run(process.execPath, [RUNNER_PATH, typeof req === 'string' ? req : JSON.stringify(req)], { timeoutMs: 10000 });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one line: ${r.stdout}`);
  return { code: r.code, answer: JSON.parse(lines[0] as string) as Record<string, unknown> };
}

test('the runner sits next to its client module (resolved from import.meta.url)', () => {
  assert.ok(RUNNER_PATH.endsWith('/src/probes/runner.mjs'), RUNNER_PATH);
  assert.ok(existsSync(RUNNER_PATH));
});

test('tcp: a listening port connects, a closed one is refused', async () => {
  const ok = await runner({ op: 'tcp', host: '127.0.0.1', port, timeoutMs: 2000 });
  assert.equal(ok.code, 0);
  assert.equal(ok.answer.ok, true);
  assert.equal(typeof ok.answer.ms, 'number');
  // A port that was just free: bind and close a server to find one.
  const tmp = createServer();
  await new Promise<void>((res) => tmp.listen(0, '127.0.0.1', () => res()));
  const closed = (tmp.address() as AddressInfo).port;
  await new Promise<void>((res) => tmp.close(() => res()));
  const refused = await runner({ op: 'tcp', host: '127.0.0.1', port: closed, timeoutMs: 2000 });
  assert.deepEqual([refused.answer.ok, refused.answer.error], [false, 'refused']);
});

test('http: status, headers and the start of the body; 404 is an answer, not an error', async () => {
  const ok = await runner({ op: 'http', url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 });
  assert.equal(ok.answer.status, 200);
  assert.equal(ok.answer.bodyStart, 'hello from the lab\n');
  assert.equal((ok.answer.headers as Record<string, string>)['x-probe'], 'yes');
  assert.equal(ok.answer.error, undefined);
  const big = await runner({ op: 'http', url: `http://127.0.0.1:${port}/big`, timeoutMs: 2000 });
  assert.equal((big.answer.bodyStart as string).length, 512);
  const missing = await runner({ op: 'http', url: `http://127.0.0.1:${port}/nothing`, timeoutMs: 2000 });
  assert.equal(missing.answer.status, 404);
  const v6 = await runner({ op: 'http', url: `http://[::1]:${port}/`, timeoutMs: 2000 });
  assert.equal(v6.answer.error, 'refused', 'the server listens on 127.0.0.1 only');
});

test('https answers carry insecure: true (certificates are not verified in labs)', async () => {
  const r = await runner({ op: 'http', url: `https://127.0.0.1:${port}/`, timeoutMs: 2000 });
  assert.equal(r.answer.insecure, true);
  assert.equal(typeof r.answer.error, 'string', 'a plain-HTTP server does not speak TLS');
});

test('bad requests: not JSON, unknown op, names instead of addresses, bad port — exit 2 with the reason', async () => {
  const cases: Array<[unknown, RegExp]> = [
    ['{nope', /^bad request: argument is not JSON$/],
    [{ op: 'udp' }, /^bad request: unknown op "udp"; known: tcp, http, dns$/],
    [{ op: 'tcp', host: 'localhost', port: 80, timeoutMs: 1000 }, /^bad request: host localhost is not an IP address \(probes do not resolve names\)$/],
    [{ op: 'tcp', host: '127.0.0.1', port: 70000, timeoutMs: 1000 }, /^bad request: port 70000 is not in 1\.\.65535$/],
    [{ op: 'http', url: 'http://example.org/', timeoutMs: 1000 }, /^bad request: host example\.org is not an IP address/],
    [{ op: 'http', url: 'ftp://127.0.0.1/', timeoutMs: 1000 }, /^bad request: url ftp:\/\/127\.0\.0\.1\/ is not http: or https:$/],
    [{ op: 'tcp', host: '127.0.0.1', port: 80, timeoutMs: 1e9 }, /^bad request: timeoutMs 1000000000 is not in 1\.\.120000$/],
  ];
  for (const [req, want] of cases) {
    const r = await runner(req);
    assert.equal(r.code, 2, JSON.stringify(req));
    assert.match(r.answer.error as string, want);
  }
});

test('agent mode: JSON lines in, answers by id out (several in flight), exit when stdin closes', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [RUNNER_PATH, '--agent', '/proc/self/ns/net'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.stdin.write(`${JSON.stringify({ id: 1, op: 'http', url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 })}\n`);
  child.stdin.write(`${JSON.stringify({ id: 2, op: 'nope', timeoutMs: 100 })}\n`);
  child.stdin.write('not json\n');
  child.stdin.end();
  assert.equal(await exited, 0);
  const answers = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const byId = new Map(answers.map((a) => [a.id, a]));
  assert.equal(answers.length, 3, out);
  assert.equal((byId.get(1) as Record<string, unknown>).status, 200);
  assert.match(String((byId.get(2) as Record<string, unknown>).error), /^bad request: unknown op "nope"/);
  assert.match(String((byId.get(null) as Record<string, unknown>).error), /^bad request: line is not JSON/);
});

test('agent mode: the agent leaves once its namespace file no longer is its namespace', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [RUNNER_PATH, '--agent', '/nonexistent/ns/net'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const t0 = Date.now();
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000, 'gone within the watch interval');
});
