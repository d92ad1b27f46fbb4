// Owns the interactive-shell machinery for CLI devices (over SshSession.shell()): prompts per mode, paging
// (`--More--`, `-- more --`, … answered with a key, or disabled up front), command echo stripping, the
// terminal's backspaces / carriage returns / colour codes, vendor error messages turned into
// CommandRejected with the device's words, and a bound on every wait. A vendor is a CliProfile (patterns
// only); a vendor driver is that profile plus parsers (see ios.ts). Must not know any vendor's syntax.
import { StringDecoder } from 'node:string_decoder';
import type { SshSession } from './types.js';
import { CommandRejected, CommandTimeout, DeviceError, deviceName } from './errors.js';

export interface CliProfile {
  vendor: string;
  /** Prompt per mode, tested against the last line of output (anchor them: /^[\w.-]+#\s*$/). A `host` group names the device. */
  prompts: Record<string, RegExp>;
  /** Pager prompts; when the output ends in one, `pageKey` is sent and the prompt is removed from the output. */
  pagers: RegExp[];
  pageKey?: string;
  /** Commands sent once after login to turn paging off (a refusal is ignored: the pager handling still works). */
  disablePaging?: string[];
  /** Lines that mean "the device refused this"; the output becomes CommandRejected's message. */
  errors: RegExp[];
  /** Line ending sent after a command (default '\n'). */
  newline?: string;
  /** Entering and leaving configuration mode, and the name of that mode in `prompts`. */
  config?: { enter: string; exit: string; mode: string };
}

export interface ShellOptions {
  /** Bound for one command (default 15 s). */
  commandTimeoutMs?: number;
  /** Bound for the first prompt after login (default 15 s); a newline is sent if none comes within 1 s. */
  loginTimeoutMs?: number;
  /** Pages answered per command at most (default 10,000). */
  maxPages?: number;
}

/** Terminal output as a screen would show it: colour codes dropped, backspaces and carriage returns applied. */
export function screen(raw: string): string {
  // eslint-disable-next-line no-control-regex
  const s = raw.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[()][A-Z0-9]/g, '').replace(/\x07/g, '');
  const lines: string[] = [];
  for (const physical of s.split('\n')) {
    let line = '';
    let col = 0;
    for (const ch of physical) {
      if (ch === '\r') col = 0;
      else if (ch === '\b') col = Math.max(0, col - 1);
      else {
        line = line.slice(0, col) + ch + line.slice(col + 1);
        col++;
      }
    }
    lines.push(line.trimEnd());
  }
  return lines.join('\n');
}

/** Removes the echo of `command` from the start of the output (the echo may wrap over several lines). */
export function stripEcho(lines: string[], command: string): string[] {
  const target = command.replace(/\s+/g, '');
  if (!target) return lines[0]?.trim() === '' ? lines.slice(1) : lines;
  let acc = '';
  for (let i = 0; i < Math.min(lines.length, 8); i++) {
    const l = lines[i]!.replace(/\s+/g, '');
    if (i === 0 && l.endsWith(target)) return lines.slice(1);  // a prompt left on the echo line
    acc += l;
    if (acc === target) return lines.slice(i + 1);
    if (!target.startsWith(acc)) break;
  }
  return lines;
}

interface Waiter {
  command: string;
  resolve: (r: { text: string; mode: string; prompt: string }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  pages: number;
}

export class CliShell {
  private decoder = new StringDecoder('utf8');
  private raw = '';
  private pagesText = '';
  private waiter?: Waiter;
  private closed?: string;
  private tail = '';
  mode = '';
  prompt = '';
  hostname = '';

  private constructor(
    readonly device: string,
    private readonly stream: NodeJS.ReadWriteStream & { close?: () => void },
    readonly profile: CliProfile,
    private readonly o: ShellOptions,
  ) {
    stream.on('data', (d: Buffer | string) => this.onData(typeof d === 'string' ? d : this.decoder.write(d)));
    const gone = (why: string) => () => {
      this.closed = why;
      const w = this.waiter;
      if (w) { this.waiter = undefined; clearTimeout(w.timer); w.reject(new DeviceError(this.device, `${deviceName(this.device)}: the shell ${why} while waiting for \`${w.command}\` (last output: ${JSON.stringify(this.tail.slice(-200))})`)); }
    };
    stream.on('close', gone('closed'));
    stream.on('end', gone('ended'));
    stream.on('error', (e: Error) => gone(`failed (${e.message})`)());
  }

  /** Opens a shell on the session, waits for the first prompt and turns paging off. */
  static async open(session: SshSession, profile: CliProfile, o: ShellOptions = {}): Promise<CliShell> {
    const stream = await session.shell({ cols: 511, rows: 24 });
    const sh = new CliShell(session.device, stream, profile, o);
    await sh.waitPrompt('(login)', o.loginTimeoutMs ?? 15_000, true);
    for (const c of profile.disablePaging ?? []) {
      try { await sh.run(c); } catch (e) { if (!(e instanceof CommandRejected)) throw e; }
    }
    return sh;
  }

  /** Runs one command; resolves with its output (no echo, no prompt, no pager lines). */
  async run(command: string, o: { timeoutMs?: number; expectMode?: string } = {}): Promise<string> {
    if (this.closed) throw new DeviceError(this.device, `${deviceName(this.device)}: the shell ${this.closed}`);
    if (this.waiter) throw new Error(`shell busy with \`${this.waiter.command}\``);
    const p = this.waitPrompt(command, o.timeoutMs ?? this.o.commandTimeoutMs ?? 15_000, false);
    this.stream.write(`${command}${this.profile.newline ?? '\n'}`);
    const r = await p;
    const lines = stripEcho(r.text.split('\n'), command);
    while (lines.length && lines[0] === '') lines.shift();
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    const out = lines.join('\n');
    const bad = lines.findIndex((l) => this.profile.errors.some((re) => re.test(l)));
    if (bad >= 0) throw new CommandRejected(this.device, command, lines.slice(Math.max(0, bad - 2), bad + 3).join('\n'));
    if (o.expectMode && this.mode !== o.expectMode) {
      throw new CommandRejected(this.device, command, `expected ${o.expectMode} mode after it, the prompt is \`${this.prompt}\` (${this.mode} mode)`);
    }
    return out;
  }

  /** Enters configuration mode, sends each line (stopping at the first refusal, leaving config mode), leaves it. */
  async configure(lines: string[], o: { timeoutMs?: number } = {}): Promise<void> {
    const c = this.profile.config;
    if (!c) throw new DeviceError(this.device, `${deviceName(this.device)}: profile ${this.profile.vendor} has no configuration mode`);
    await this.run(c.enter, { ...o, expectMode: c.mode });
    try {
      for (const l of lines) if (l.trim() && !l.trim().startsWith('!')) await this.run(l, o);
    } finally {
      if (this.mode === c.mode) await this.run(c.exit, o);
    }
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = 'closed';
      try { this.stream.end(); } catch { /* already gone */ }
      this.stream.close?.();
    }
  }

  private waitPrompt(command: string, timeoutMs: number, login: boolean): Promise<{ text: string; mode: string; prompt: string }> {
    this.raw = '';
    this.pagesText = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new CommandTimeout(this.device, command, timeoutMs, this.tail,
          `prompts expected: ${Object.entries(this.profile.prompts).map(([m, re]) => `${m} ${re}`).join(', ')}`));
      }, timeoutMs);
      this.waiter = { command, resolve, reject, timer, pages: 0 };
      if (login) {
        const nudge = setTimeout(() => { if (this.waiter?.command === command) this.stream.write(this.profile.newline ?? '\n'); }, 1000);
        nudge.unref();
      }
      this.check();
    });
  }

  private onData(s: string): void {
    this.raw += s;
    this.tail = (this.tail + s).slice(-2000);
    this.check();
  }

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    const scr = screen(this.raw);
    const nl = scr.lastIndexOf('\n');
    const last = scr.slice(nl + 1);
    for (const pager of this.profile.pagers) {
      const m = pager.exec(last);
      if (m) {
        if (++w.pages > (this.o.maxPages ?? 10_000)) {
          this.waiter = undefined;
          clearTimeout(w.timer);
          w.reject(new DeviceError(this.device, `${deviceName(this.device)}: more than ${this.o.maxPages ?? 10_000} pages for \`${w.command}\``));
          return;
        }
        const kept = (last.slice(0, m.index) + last.slice(m.index + m[0].length)).trimEnd();
        this.pagesText += scr.slice(0, nl + 1) + (kept ? kept : '');
        this.raw = '';
        this.stream.write(this.profile.pageKey ?? ' ');
        return;
      }
    }
    for (const [mode, re] of Object.entries(this.profile.prompts)) {
      const m = re.exec(last);
      if (m) {
        this.waiter = undefined;
        clearTimeout(w.timer);
        this.mode = mode;
        this.prompt = last.trim();
        if (m.groups?.host) this.hostname = m.groups.host;
        w.resolve({ text: this.pagesText + scr.slice(0, Math.max(0, nl)), mode, prompt: this.prompt });
        return;
      }
    }
  }
}
