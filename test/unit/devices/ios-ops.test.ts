// The IOS driver's operations for a physical lab's scenarios (src/devices/ios.ts) against a simulated,
// stateful IOS CLI (no real IOS here): `shutdown` / `no shutdown` in config mode change what
// `show ip interface brief` says, ping is bounded and read from "Success rate", a CLI command's output or
// refusal comes back as an exec result, and bad input never reaches the device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IosDriver, parseIosInterfaceStates, parseIosPing } from '../../../src/devices/ios.js';
import { SimulatedCli, type CliSim } from '../../support/recorded.js';
import type { SshSession } from '../../../src/devices/types.js';

const SIM: CliSim = { prompt: 'R1#', configPrompt: 'R1(config)#', banner: 'Welcome', pageLines: 10 };

/** A tiny IOS: interfaces with an admin state, the current `interface` in config mode, canned pings. */
function device(): { session: SshSession; typed: string[]; admin: Map<string, boolean> } {
  const admin = new Map([['GigabitEthernet0/0', true], ['GigabitEthernet0/1', true], ['GigabitEthernet0/2', false]]);
  const typed: string[] = [];
  let current: string | undefined;
  const brief = (): string => ['Interface                  IP-Address      OK? Method Status                Protocol',
    ...[...admin].map(([n, up]) => `${n.padEnd(27)}${'10.1.0.1'.padEnd(16)}YES NVRAM  ${(up ? 'up' : 'administratively down').padEnd(22)}${up ? 'up' : 'down'}`)].join('\n');
  const answer = (c: string): string | undefined => {
    if (c === 'show ip interface brief') return brief();
    if (c === 'show clock') return '*10:12:03.123 JST Mon Mar 4 2024';
    const itf = /^interface (\S+)$/.exec(c);
    if (itf) { if (!admin.has(itf[1]!)) return undefined; current = itf[1]; return ''; }
    if ((c === 'shutdown' || c === 'no shutdown') && current) { admin.set(current, c === 'no shutdown'); return ''; }
    const ping = /^ping (\S+) repeat (\d+) timeout (\d+)$/.exec(c);
    if (ping) {
      const n = Number(ping[2]);
      const ok = ping[1] === '10.1.0.254' ? n : 0;
      return `Type escape sequence to abort.\nSending ${n}, 100-byte ICMP Echos to ${ping[1]}, timeout is ${ping[3]} seconds:\n${'!'.repeat(ok)}${'.'.repeat(n - ok)}\n`
        + `Success rate is ${Math.round((100 * ok) / n)} percent (${ok}/${n})${ok ? ', round-trip min/avg/max = 1/1/2 ms' : ''}`;
    }
    return undefined;
  };
  const session: SshSession = {
    device: 'device r1 (192.0.2.11)',
    exec: () => Promise.reject(new Error('no exec channel on this device')),
    shell: async () => new SimulatedCli(SIM, answer, (c) => typed.push(c)),
    close: async () => undefined,
  };
  return { session, typed, admin };
}

test('interfaces: shut and re-enabled in config mode, read back from show ip interface brief', async () => {
  const dev = device();
  const d = new IosDriver(async () => dev.session);
  await d.open();
  try {
    assert.equal(await d.interfaceUp('GigabitEthernet0/1'), true);
    assert.equal(await d.interfaceUp('GigabitEthernet0/2'), false);
    await d.setInterfaceUp('GigabitEthernet0/1', false);
    assert.equal(dev.admin.get('GigabitEthernet0/1'), false);
    assert.equal(await d.interfaceUp('GigabitEthernet0/1'), false);
    await d.setInterfaceUp('GigabitEthernet0/1', true);
    assert.equal(await d.interfaceUp('GigabitEthernet0/1'), true);
    assert.deepEqual(dev.typed.filter((c) => !c.startsWith('show') && c !== 'terminal length 0'),
      ['configure terminal', 'interface GigabitEthernet0/1', 'shutdown', 'end', 'configure terminal', 'interface GigabitEthernet0/1', 'no shutdown', 'end']);
    await assert.rejects(d.interfaceUp('Gi9/9'), /^DeviceError: no interface Gi9\/9 on device r1 \(192\.0\.2\.11\); known: GigabitEthernet0\/0, GigabitEthernet0\/1, GigabitEthernet0\/2$/);
    const before = dev.typed.length;
    await assert.rejects(d.setInterfaceUp('Gi0/1\nreload', false), /invalid interface name/);
    assert.equal(dev.typed.length, before, 'nothing typed for a bad name');
    await assert.rejects(d.setInterfaceUp('Gi9/9', false), /rejected `interface Gi9\/9`: [^]*Invalid input detected/);
    assert.equal(dev.typed.at(-1), 'end', 'config mode left after a refusal');
  } finally {
    await d.close();
  }
});

test('ping: bounded count and timeout, read from "Success rate"; only IP addresses', async () => {
  const dev = device();
  const d = new IosDriver(async () => dev.session);
  await d.open();
  try {
    const ok = await d.ping('10.1.0.254', { count: 3, timeoutMs: 1000 });
    assert.deepEqual({ sent: ok.sent, received: ok.received }, { sent: 3, received: 3 });
    assert.match(ok.output, /!!!/);
    const lost = await d.ping('10.9.9.9', { count: 2, timeoutMs: 2500 });
    assert.deepEqual({ sent: lost.sent, received: lost.received }, { sent: 2, received: 0 });
    assert.ok(dev.typed.includes('ping 10.9.9.9 repeat 2 timeout 3'), dev.typed.join(' | '));
    await assert.rejects(d.ping('r2; reload', { count: 1, timeoutMs: 1000 }), /cannot ping "r2; reload" from device r1 .*not an IP address/);
  } finally {
    await d.close();
  }
});

test('exec: a CLI command\'s output, or code 1 with the device\'s refusal; one line only', async () => {
  const dev = device();
  const d = new IosDriver(async () => dev.session);
  await d.open();
  try {
    assert.deepEqual(await d.exec('show clock'), { code: 0, stdout: '*10:12:03.123 JST Mon Mar 4 2024', stderr: '' });
    const bad = await d.exec('show bogus');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /% Invalid input detected/);
    await assert.rejects(d.exec('show clock\nreload'), /one CLI command per step/);
  } finally {
    await d.close();
  }
});

test('parsers: interface states and ping summaries', () => {
  assert.deepEqual(parseIosInterfaceStates('Interface  IP-Address OK? Method Status Protocol\nLoopback0 10.255.0.1 YES NVRAM up up\nGi0/2 unassigned YES NVRAM administratively down down\nGi0/3 unassigned YES unset down down'),
    [{ name: 'Loopback0', adminUp: true, protocolUp: true }, { name: 'Gi0/2', adminUp: false, protocolUp: false }, { name: 'Gi0/3', adminUp: true, protocolUp: false }]);
  assert.deepEqual(parseIosPing('Success rate is 66 percent (2/3), round-trip min/avg/max = 1/1/1 ms'), { sent: 3, received: 2 });
  assert.equal(parseIosPing('% Unrecognized host or address'), undefined);
});
