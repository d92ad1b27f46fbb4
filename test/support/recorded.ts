// Recorded device output (NAPALM-style fixtures) for the driver contract suite: the on-disk format under
// fixtures/devices/<driver>/<case>/, a session that REPLAYS it (exec channel, and a simulated CLI shell with
// echo, prompts and --More-- paging), and a session that RECORDS a real device's answers into it.
//
// <case>/commands.json   [{ command, file, code?, stderr? }] — one entry per distinct command
// <case>/<file>          the command's stdout exactly as the device printed it
// <case>/expected.json   what the driver must make of it: { facts?, runningConfig?, routes?, neighbours?: {ospf?, bgp?, bfd?} }
// <case>/candidate.txt + compare.json ({ mode }) + compare.diff   optional: loadCandidate(mode) → compare() result
// <case>/cli.json        optional, CLI devices: { prompt, banner?, pageLines?, pager? } for the simulated shell
// <case>/README.md       where the output came from (recorded from a real device, or hand-written — say which)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type { ExecResult, SshSession } from '../../src/devices/types.js';
import { WRITE_FILE_RE } from '../../src/devices/remote.js';
import { PRIVATE_DIR_RE } from '../../src/devices/confirm.js';

export interface RecordedCommand { command: string; file: string; code?: number; stderr?: string; }

export function slug(command: string): string {
  const s = command.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 90);
  return `${s || 'command'}.txt`;
}

export function readCommands(dir: string): RecordedCommand[] {
  const p = join(dir, 'commands.json');
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) as RecordedCommand[] : [];
}

function unquote(p: string): string {
  return p.startsWith("'") ? p.slice(1, -1).replace(/'\\''/g, "'") : p;
}

/** Replays a case directory. Files written with writeDeviceFile are kept in `files`; every command is logged. */
export class ReplaySession implements SshSession {
  readonly files = new Map<string, string>();
  readonly log: string[] = [];
  private readonly recorded: Map<string, RecordedCommand>;
  constructor(readonly dir: string, readonly device = 'dut') {
    this.recorded = new Map(readCommands(dir).map((c) => [c.command, c]));
  }

  async exec(command: string): Promise<ExecResult> {
    this.log.push(command);
    const w = WRITE_FILE_RE.exec(command);
    if (w) {
      const path = unquote(w[3]!);
      const data = Buffer.from(w[1]!, 'base64').toString('utf8');
      this.files.set(path, (w[2] === '>>' ? this.files.get(path) ?? '' : '') + data);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (/^(mkdir -p|rm -f|chmod) /.test(command) || (PRIVATE_DIR_RE.test(command) && !command.includes('\n'))) return { code: 0, stdout: '', stderr: '' };
    const r = this.recorded.get(command);
    if (!r) {
      throw new Error(`no recording of \`${command}\` in ${this.dir}; recorded: ${[...this.recorded.keys()].join(' | ') || '(none)'}`);
    }
    return { code: r.code ?? 0, stdout: readFileSync(join(this.dir, r.file), 'utf8'), stderr: r.stderr ?? '' };
  }

  async shell(): Promise<NodeJS.ReadWriteStream & { close?: () => void }> {
    const cli = JSON.parse(readFileSync(join(this.dir, 'cli.json'), 'utf8')) as CliSim;
    return new SimulatedCli(cli, (cmd) => {
      this.log.push(cmd);
      const r = this.recorded.get(cmd);
      return r ? readFileSync(join(this.dir, r.file), 'utf8') : undefined;
    });
  }

  async close(): Promise<void> { /* nothing */ }
}

export interface CliSim {
  prompt: string;               // exec-mode prompt, e.g. "R1#"
  configPrompt?: string;        // e.g. "R1(config)#"
  banner?: string;
  pageLines?: number;           // lines per page until `terminal length 0` (default 24)
  pager?: string;               // e.g. " --More-- "
  erase?: string;               // what the device sends after a key at the pager (default: backspaces over the pager)
  invalid?: string;             // answer to an unknown command
  lineEnd?: string;             // '\r\n' (default)
}

/**
 * A device's interactive shell, played back: echoes what is typed, answers recorded commands with their
 * output — paged at `pageLines` with the pager prompt until `terminal length 0` — then the prompt. Output
 * is sent in small irregular chunks, as a real SSH channel delivers it.
 */
export class SimulatedCli extends Duplex {
  private line = '';
  private paging = true;
  private pages: string[] = [];
  private mode: 'exec' | 'config' = 'exec';
  /** Pager prompts shown so far. */
  pagesShown = 0;
  constructor(private readonly sim: CliSim, private readonly answer: (cmd: string) => string | undefined, private readonly seen?: (cmd: string) => void) {
    super();
    const nl = sim.lineEnd ?? '\r\n';
    setImmediate(() => this.send(`${sim.banner ? sim.banner.replace(/\n/g, nl) + nl : ''}${nl}${sim.prompt}`));
  }

  private get nl(): string { return this.sim.lineEnd ?? '\r\n'; }
  private get prompt(): string { return this.mode === 'config' ? this.sim.configPrompt ?? this.sim.prompt : this.sim.prompt; }

  private send(s: string): void {
    // irregular chunks: 1..37 bytes
    let i = 0;
    let k = 0;
    while (i < s.length) {
      const n = 1 + ((k++ * 7919) % 37);
      this.push(s.slice(i, i + n));
      i += n;
    }
  }

  _read(): void { /* pushed by send */ }

  _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    for (const ch of chunk.toString()) this.key(ch);
    cb();
  }

  private key(ch: string): void {
    if (this.pages.length) {
      const pager = this.sim.pager ?? ' --More-- ';
      const erase = this.sim.erase ?? `${'\b'.repeat(pager.length)}${' '.repeat(pager.length)}${'\b'.repeat(pager.length)}`;
      if (ch === 'q') { this.pages = []; this.send(`${erase}${this.nl}${this.prompt}`); return; }
      const next = this.pages.shift() as string;
      if (this.pages.length) this.pagesShown++;
      this.send(erase + next + (this.pages.length ? pager : `${this.nl}${this.prompt}`));
      return;
    }
    if (ch === '\r' || ch === '\n') {
      if (ch === '\n' && this.line === '' && this.lastWasCr) { this.lastWasCr = false; return; }
      this.lastWasCr = ch === '\r';
      const cmd = this.line.trim();
      this.line = '';
      this.send(this.nl);
      this.run(cmd);
      return;
    }
    this.lastWasCr = false;
    this.line += ch;
    this.send(ch); // echo
  }
  private lastWasCr = false;

  private run(cmd: string): void {
    if (cmd === '') { this.send(this.prompt); return; }
    this.seen?.(cmd);
    if (/^terminal length 0$/.test(cmd) || /^terminal pager 0$/.test(cmd)) { this.paging = false; this.send(this.prompt); return; }
    if (cmd === 'configure terminal' && this.sim.configPrompt) { this.mode = 'config'; this.send(`Enter configuration commands, one per line.  End with CNTL/Z.${this.nl}${this.prompt}`); return; }
    if (cmd === 'end' && this.mode === 'config') { this.mode = 'exec'; this.send(this.prompt); return; }
    const out = this.answer(cmd);
    if (out === undefined) {
      const inv = this.sim.invalid ?? `${' '.repeat(this.prompt.length)}^\n% Invalid input detected at '^' marker.\n`;
      this.send(`${inv.replace(/\n/g, this.nl)}${this.nl}${this.prompt}`);
      return;
    }
    const lines = out.replace(/\n$/, '').split('\n');
    const per = this.sim.pageLines ?? 24;
    if (!this.paging || lines.length <= per) { this.send(lines.join(this.nl) + this.nl + this.prompt); return; }
    const chunks: string[] = [];
    for (let i = 0; i < lines.length; i += per) chunks.push(lines.slice(i, i + per).join(this.nl) + (i + per < lines.length ? this.nl : ''));
    this.send(chunks.shift() as string + (this.sim.pager ?? ' --More-- '));
    this.pagesShown++;
    this.pages = chunks;
  }
}

/** Wraps a real session and writes every command's answer into `dir` (commands.json + one file each). */
export class RecordingSession implements SshSession {
  private readonly cmds: RecordedCommand[];
  constructor(private readonly inner: SshSession, readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.cmds = readCommands(dir);
  }
  get device(): string { return this.inner.device; }

  async exec(command: string, opts?: { timeoutMs?: number }): Promise<ExecResult> {
    const r = await this.inner.exec(command, opts);
    if (WRITE_FILE_RE.test(command) || /^(mkdir -p|rm -f|chmod) /.test(command) || (PRIVATE_DIR_RE.test(command) && !command.includes('\n'))) return r;
    const file = slug(command);
    const entry: RecordedCommand = { command, file, ...(r.code ? { code: r.code } : {}), ...(r.stderr.trim() ? { stderr: r.stderr } : {}) };
    const i = this.cmds.findIndex((c) => c.command === command);
    if (i >= 0) this.cmds[i] = entry; else this.cmds.push(entry);
    writeFileSync(join(this.dir, file), r.stdout);
    writeFileSync(join(this.dir, 'commands.json'), `${JSON.stringify(this.cmds, null, 2)}\n`);
    return r;
  }
  shell(opts?: { cols?: number; rows?: number }): ReturnType<SshSession['shell']> { return this.inner.shell(opts); }
  close(): Promise<void> { return this.inner.close(); }
}
