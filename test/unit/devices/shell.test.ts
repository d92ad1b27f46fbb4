// The interactive-shell machinery (src/devices/shell.ts) against simulated devices: echo stripping,
// paging answered with a key (IOS `--More--` with backspace erase, a `-- more --` pager with a carriage
// return erase), output in odd chunks, vendor error lines → CommandRejected with the device's words,
// config mode and its prompt, a device that never answers → CommandTimeout (bounded), a shell that closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CliShell, screen, stripEcho, type CliProfile } from '../../../src/devices/shell.js';
import { IOS_PROFILE } from '../../../src/devices/ios.js';
import { CommandRejected, CommandTimeout, DeviceError } from '../../../src/devices/errors.js';
import { SimulatedCli, type CliSim } from '../../support/recorded.js';
import type { SshSession } from '../../../src/devices/types.js';

const LONG = Array.from({ length: 53 }, (_, i) => `line ${String(i + 1).padStart(2, '0')} of the output`).join('\n');
const ANSWERS: Record<string, string> = { 'show long': LONG, 'show clock': '*10:12:03.123 JST Mon Mar 4 2024', 'show empty': '' };

function session(sim: CliSim, answers = ANSWERS): SshSession & { typed: string[]; cli?: SimulatedCli } {
  const typed: string[] = [];
  const s: SshSession & { typed: string[]; cli?: SimulatedCli } = {
    device: 'sim',
    typed,
    exec: () => Promise.reject(new Error('no exec')),
    shell: async () => { s.cli = new SimulatedCli(sim, (c) => answers[c], (c) => typed.push(c)); return s.cli; },
    close: async () => undefined,
  };
  return s;
}

const IOS_SIM: CliSim = { prompt: 'R1#', configPrompt: 'R1(config)#', banner: 'Welcome', pageLines: 10 };
const PAGED: CliProfile = { ...IOS_PROFILE, disablePaging: [] };

test('screen(): backspaces, carriage returns and colour codes as a terminal shows them', () => {
  assert.equal(screen('abc\b\bX'), 'aXc');
  assert.equal(screen(' --More-- \b\b\b\b\b\b\b\b\b\b          \b\b\b\b\b\b\b\b\b\bnext line'), 'next line');
  assert.equal(screen('-- more --\r          \rnext'), 'next');
  assert.equal(screen('\x1b[1mbold\x1b[0m\r\nx'), 'bold\nx');
});

test('stripEcho(): the echo, even wrapped over lines or after a left-over prompt', () => {
  assert.deepEqual(stripEcho(['show ip route', 'a'], 'show ip route'), ['a']);
  assert.deepEqual(stripEcho(['show ip ro', 'ute', 'a'], 'show ip route'), ['a']);
  assert.deepEqual(stripEcho(['R1#show ip route', 'a'], 'show ip route'), ['a']);
  assert.deepEqual(stripEcho(['something else', 'a'], 'show ip route'), ['something else', 'a']);
});

test('paging on: every --More-- is answered with a space, the output is whole and clean', async () => {
  const s = session(IOS_SIM);
  const sh = await CliShell.open(s, PAGED);
  assert.equal(sh.mode, 'privileged');
  assert.equal(sh.hostname, 'R1');
  const out = await sh.run('show long');
  assert.equal(out, LONG, 'all 53 lines, no pager, no echo, no prompt');
  assert.equal(s.cli?.pagesShown, 5, '53 lines at 10 a page: 5 pager prompts answered');
  assert.equal(await sh.run('show clock'), '*10:12:03.123 JST Mon Mar 4 2024');
  assert.equal(await sh.run('show empty'), '');
  await sh.close();
});

test('paging disabled up front (terminal length 0): no pager ever shows', async () => {
  const s = session(IOS_SIM);
  const sh = await CliShell.open(s, IOS_PROFILE);
  assert.equal(s.typed[0], 'terminal length 0');
  assert.equal(await sh.run('show long'), LONG);
  assert.equal(s.cli?.pagesShown, 0);
});

test('a `-- more --` pager erased with a carriage return, a `host>` prompt, \\n line ends', async () => {
  const sim: CliSim = { prompt: 'vyos@r1>', pager: '-- more --', erase: '\r          \r', pageLines: 7, lineEnd: '\n' };
  const profile: CliProfile = { vendor: 'test', prompts: { op: /^(?<host>[\w@.-]+)>\s*$/ }, pagers: [/-- more --\s*$/], errors: [/^Invalid command:/] };
  const s = session(sim, { ...ANSWERS, 'show bad': 'Invalid command: show [bad]' });
  const sh = await CliShell.open(s, profile);
  assert.equal(sh.hostname, 'vyos@r1');
  assert.equal(await sh.run('show long'), LONG);
  assert.equal(s.cli?.pagesShown, 7);
  await assert.rejects(sh.run('show bad'), (e: unknown) => e instanceof CommandRejected && e.deviceMessage === 'Invalid command: show [bad]');
});

test('an unknown command: CommandRejected with the device\'s own words (marker line included)', async () => {
  const sh = await CliShell.open(session(IOS_SIM), IOS_PROFILE);
  await assert.rejects(sh.run('show ip rouet'), (e: unknown) => {
    assert.ok(e instanceof CommandRejected);
    assert.equal(e.command, 'show ip rouet');
    assert.match(e.deviceMessage, /\^\n% Invalid input detected at '\^' marker\./);
    assert.match(e.message, /^device sim rejected `show ip rouet`: /);
    return true;
  });
  assert.equal(await sh.run('show clock'), '*10:12:03.123 JST Mon Mar 4 2024', 'the shell is still usable');
});

test('configure(): enters config mode (prompt changes), sends lines, stops at a refusal and leaves config mode', async () => {
  const s = session(IOS_SIM, { ...ANSWERS, 'interface Gi0/1': '', ' ip ospf cost 50': '', 'ip ospf cost 50': '' });
  const sh = await CliShell.open(s, IOS_PROFILE);
  await sh.configure(['interface Gi0/1', 'ip ospf cost 50']);
  assert.equal(sh.mode, 'privileged');
  assert.deepEqual(s.typed.slice(1), ['configure terminal', 'interface Gi0/1', 'ip ospf cost 50', 'end']);
  await assert.rejects(sh.configure(['interface Gi0/1', 'ip ospf cots 50']), CommandRejected);
  assert.equal(sh.mode, 'privileged', 'left config mode after the refusal');
  assert.equal(s.typed[s.typed.length - 1], 'end');
});

test('a device that never answers: CommandTimeout within the bound, with what it last said', async () => {
  const silent = new PassThrough();
  const s: SshSession = { device: 'mute', exec: () => Promise.reject(new Error('x')), shell: async () => silent, close: async () => undefined };
  const t0 = Date.now();
  await assert.rejects(CliShell.open(s, IOS_PROFILE, { loginTimeoutMs: 300 }), (e: unknown) => e instanceof CommandTimeout && /no answer to `\(login\)` within 300 ms/.test(e.message));
  assert.ok(Date.now() - t0 < 3000);

  const sh = await CliShell.open(session({ ...IOS_SIM }), IOS_PROFILE, { commandTimeoutMs: 200 });
  const stream = (sh as unknown as { stream: PassThrough }).stream;
  stream.removeAllListeners('data'); // the device goes quiet from now on
  await assert.rejects(sh.run('show clock'), CommandTimeout);
});

test('the shell closing while a command waits: a DeviceError naming the command, not a hang', async () => {
  const stream = new PassThrough();
  const s: SshSession = { device: 'gone', exec: () => Promise.reject(new Error('x')), shell: async () => stream, close: async () => undefined };
  const p = CliShell.open(s, IOS_PROFILE, { loginTimeoutMs: 5000 });
  setTimeout(() => stream.emit('close'), 50);
  await assert.rejects(p, (e: unknown) => e instanceof DeviceError && /the shell closed while waiting for `\(login\)`/.test(e.message));
});
