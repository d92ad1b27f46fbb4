// The operations a profile's external devices do for scenarios (src/devices/exec-driver.ts): ping parsed
// from the device's own output, interface admin state, and the silent drop's nft table — checked against
// a scripted SSH session that records every command and answers like a Linux shell would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrrDriver, LinuxDriver } from '../../../src/devices/index.js';
import { CommandRejected } from '../../../src/devices/errors.js';
import type { ExecResult, SshSession } from '../../../src/devices/types.js';

class Scripted implements SshSession {
  readonly device = 'device r1 (192.0.2.1)';
  readonly commands: string[] = [];
  constructor(private readonly answer: (cmd: string) => ExecResult) {}
  async exec(command: string): Promise<ExecResult> { this.commands.push(command); return this.answer(command); }
  shell(): never { throw new Error('no shell'); }
  async close(): Promise<void> {}
}

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });

const PING_OK = `PING 10.2.0.10 (10.2.0.10) 56(84) bytes of data.
64 bytes from 10.2.0.10: icmp_seq=1 ttl=62 time=0.31 ms
64 bytes from 10.2.0.10: icmp_seq=3 ttl=62 time=0.29 ms

--- 10.2.0.10 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 403ms
`;
const PING_NONE = `PING 10.9.9.9 (10.9.9.9) 56(84) bytes of data.

--- 10.9.9.9 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 1020ms
`;

test('ping: counts from the device\'s own summary, bounded count and wait, address quoted', async () => {
  const s = new Scripted((c) => (c.includes('10.2.0.10') ? ok(PING_OK) : { code: 1, stdout: PING_NONE, stderr: '' }));
  const d = new FrrDriver(async () => s);
  await d.open();
  assert.deepEqual((await d.ping('10.2.0.10', { count: 3, timeoutMs: 1000 })).received, 2);
  const none = await d.ping('10.9.9.9', { count: 2, timeoutMs: 1500 });
  assert.deepEqual([none.sent, none.received], [2, 0]);
  assert.equal(s.commands[0], 'ping -n -c 3 -i 0.2 -W 1 10.2.0.10');
  assert.equal(s.commands[1], 'ping -n -c 2 -i 0.2 -W 2 10.9.9.9');
  await d.ping('10.2.0.10', { count: 5000, timeoutMs: 1000 });
  assert.match(s.commands[2]!, /^ping -n -c 100 /, 'count capped at 100');
});

test('ping: no summary (unknown host, no ping program) is the device refusing, with its words', async () => {
  const s = new Scripted(() => ({ code: 2, stdout: '', stderr: 'ping: bad address \'nowhere\'' }));
  const d = new LinuxDriver(async () => s);
  await d.open();
  await assert.rejects(d.ping('nowhere', { count: 1, timeoutMs: 1000 }), (e: Error) => e instanceof CommandRejected && /bad address/.test(e.message));
});

test('interfaces: admin state set and read with ip, names quoted', async () => {
  const s = new Scripted((c) => (c.startsWith('ip -j link show') ? ok('[{"ifname":"eth2","flags":["BROADCAST","MULTICAST","UP"]}]') : ok()));
  const d = new FrrDriver(async () => s);
  await d.open();
  await d.setInterfaceUp('eth2', false);
  await d.setInterfaceUp('Gi0/1 x', true);
  assert.deepEqual(s.commands.slice(0, 2), ['ip link set dev eth2 down', "ip link set dev 'Gi0/1 x' up"]);
  assert.equal(await d.interfaceUp('eth2'), true);
});

test('silent drop: an nft netdev table of our own (ingress drop, egress rewrite when asked); removal only when present', async () => {
  const s = new Scripted(() => ok());
  const d = new FrrDriver(async () => s);
  await d.open();
  await d.blockInterface('eth2', true, { egress: true });
  const m = /^printf %s '([A-Za-z0-9+/=]+)' \| base64 -d \| nft -f -$/.exec(s.commands[0]!);
  assert.ok(m, s.commands[0]);
  const script = Buffer.from(m[1]!, 'base64').toString('utf8');
  assert.match(script, /table netdev tsunagari_cut_eth2 \{/);
  assert.match(script, /chain ingress \{ type filter hook ingress device "eth2" priority -100; policy accept; drop; \}/);
  assert.match(script, /chain egress \{ type filter hook egress device "eth2" .* ether type set 0x88b5; \}/);
  await d.blockInterface('eth3', true);
  assert.doesNotMatch(Buffer.from(/'([^']+)'/.exec(s.commands[1]!)![1]!, 'base64').toString('utf8'), /egress/);
  await d.blockInterface('eth2', false);
  assert.equal(s.commands[2], 'if nft list table netdev tsunagari_cut_eth2 >/dev/null 2>&1; then nft delete table netdev tsunagari_cut_eth2; fi');
});

test('a refused command keeps the device\'s words (CommandRejected)', async () => {
  const s = new Scripted(() => ({ code: 1, stdout: '', stderr: 'Cannot find device "eth9"' }));
  const d = new LinuxDriver(async () => s);
  await d.open();
  await assert.rejects(d.setInterfaceUp('eth9', false), (e: Error) => e instanceof CommandRejected && /Cannot find device "eth9"/.test(e.message));
});
