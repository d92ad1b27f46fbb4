// Owns what one scenario does to and checks in its lab: every step of the vocabulary is one method
// here. Changes push their inverse on the scenario's undo stack; failed checks carry evidence (probes,
// the node's addresses and routes) and attach it to the report. Must not import Cucumber.
import type { ExternalLink, Link } from '../topology/types.js';
import type { RunningLab } from '../lab/running.js';
import { baseName } from '../topology/instance.js';
import { addSecretEnv } from '../util/redact.js';
import { UserError, knownList } from '../util/errors.js';
import { mapLimit } from '../util/exec.js';
import { nsRun } from '../fabric/host.js';
import { resolveTarget, resolveAnyLink, hostNames, type Target } from '../lab/targets.js';
import { deviceLinkDown, deviceLinkUp, notOnDeviceCable } from '../lab/device-links.js';
import { reach, reachWithin, confirmUnreachable, reachMany, confirmUnreachableMany, type ProbeNs, type ReachResult } from '../probes/ping.js';
import { tcpConnect } from '../probes/tcp.js';
import { httpGet } from '../probes/http.js';
import { linkDown, linkUp, linkLoss, linkRate, linkDelay } from '../lab/impair.js';
import { topologySvg } from '../report/graph.js';
import { setResponder, breakZeroChecksums } from '../lab/dnsfaults.js';
import { table } from '../lab/status.js';
import { formatMs, parseMark, unquote } from './params.js';
import { UndoStack } from './undo.js';
import type { LabPool } from './pool.js';
import { DnsSteps } from './dns.js';
import { RouterSteps } from './routers.js';
import { FailoverSteps } from './failover.js';
import { CheckFailed } from './check.js';

export { CheckFailed };

export type Attach = (data: string | Buffer, mediaType: string) => void | Promise<void>;

export interface CommandOutput { host: string; command: string; code: number; stdout: string; stderr: string; }

export class Scenario {
  lab?: RunningLab;
  readonly undo = new UndoStack();
  output?: CommandOutput;
  /** DNS queries and their checks (src/scenario/dns.ts). */
  readonly dns: DnsSteps = new DnsSteps(this);
  /** Router config pushes and routing checks (src/scenario/routers.ts). */
  readonly routers: RouterSteps = new RouterSteps(this);
  /** Outage meter, silent cut and failover checks (src/scenario/failover.ts). */
  readonly failover: FailoverSteps = new FailoverSteps(this);

  constructor(readonly pool: LabPool, readonly attach: Attach) {}

  // ---- lab and names -------------------------------------------------------------------------

  async useLab(name: string): Promise<void> {
    const lab = unquote(name);
    if (this.lab && baseName(this.lab.lab) !== lab) {
      throw new UserError(`cannot use lab ${lab} (this scenario already uses lab ${baseName(this.lab.lab)})`, 'one lab per scenario');
    }
    const { running, first } = await this.pool.ensure(lab);
    this.lab = running;
    // Node env: values with secret names never show in reports (util/redact.ts).
    for (const n of running.lab.nodes) addSecretEnv(n.env);
    if (first) await this.attach(topologySvg(running.lab), 'image/svg+xml');
  }

  requireLab(): RunningLab {
    if (!this.lab) {
      throw new UserError('no lab yet in this scenario', 'start it with `Given the lab "<name>" is up` (`前提 ラボ "<name>" が起動している`) or tag it @lab:<name>');
    }
    return this.lab;
  }

  /** A node name of the lab (for {host}); fails listing the known ones. */
  host(text: string): string {
    const name = unquote(text);
    const lab = this.requireLab();
    if (!hostNames(lab.lab).includes(name)) {
      throw new UserError(`unknown host ${name}; known: ${knownList(hostNames(lab.lab))}`);
    }
    return name;
  }

  /** Is this host an external device of the lab's profile (reached over SSH, not a node tsunagari created)? */
  isDevice(host: string): boolean {
    return !!this.lab?.external(host);
  }

  target(text: string): Target {
    return resolveTarget(this.requireLab().lab, unquote(text));
  }

  link(text: string): Link | ExternalLink {
    return resolveAnyLink(this.requireLab().lab, unquote(text));
  }

  private async ns(host: string): Promise<string> {
    return (await this.requireLab().handle(host)).netnsPath;
  }

  /** Where ping probes from a node run: its namespace here, or a runner through another machine's agent. */
  private async probeNs(host: string): Promise<ProbeNs> {
    return this.requireLab().probeRunner(host) ?? this.ns(host);
  }

  /** The node's addresses and routes, for failure messages (the report shows the message). */
  private async evidence(host: string): Promise<string> {
    if (this.isDevice(host)) return `(${host} is an external device: no evidence collected from it)`;
    const lab = this.requireLab();
    const remote = lab.probeRunner(host) !== undefined;
    const ns = remote ? '' : await this.ns(host);
    const at = (argv: string[]) => (remote ? lab.exec(host, argv, { timeoutMs: 30_000 }) : nsRun(ns, argv));
    const parts = await Promise.all([at(['ip', '-br', 'addr']), at(['ip', 'route']), at(['ip', '-6', 'route'])]);
    return `${host} addresses:\n${parts[0].stdout.trim()}\n${host} routes:\n${parts[1].stdout.trim()}\n${parts[2].stdout.trim()}`;
  }

  // ---- reachability --------------------------------------------------------------------------

  /** Resolves with the probes (their RTTs) when the host reaches the target; fails with evidence otherwise. */
  async canReach(host: string, target: Target): Promise<ReachResult | void> {
    if (this.isDevice(host)) {
      const r = await this.routers.ping(host, target.address, 3);
      if (r.received > 0) return;
      throw new CheckFailed(`${host} cannot reach ${target.label}: 0/${r.sent} pings answered (ping on the device)\n${lastLine(r.output)}`);
    }
    const r = await reach(await this.probeNs(host), target.address, { attempts: 3 });
    if (r.ok) return r;
    const last = r.probes[r.probes.length - 1];
    throw new CheckFailed(`${host} cannot reach ${target.label}: 0/${r.probes.length} pings answered` +
      `${last ? ` (last: ${lastLine(last.output)})` : ''}\n${await this.evidence(host)}`);
  }

  async cannotReach(host: string, target: Target): Promise<void> {
    if (this.isDevice(host)) {
      const r = await this.routers.ping(host, target.address, 2);
      if (r.received === 0) return;
      throw new CheckFailed(`${host} can reach ${target.label} but must not: ${r.received}/${r.sent} pings answered (ping on the device)`);
    }
    const r = await confirmUnreachable(await this.probeNs(host), target.address, { probes: 2, timeoutMs: 1000 });
    if (r.unreachable) return;
    if (r.failed) throw probeFailed(host, target, r.failed);
    const okp = r.probes.filter((p) => p.received > 0).length;
    throw new CheckFailed(`${host} can reach ${target.label} but must not: ${okp}/${r.probes.length} pings answered\n${await this.evidence(host)}`);
  }

  async canReachWithin(host: string, target: Target, ms: number): Promise<void> {
    if (this.isDevice(host)) {
      const t0 = Date.now();
      let sent = 0;
      while (Date.now() - t0 < ms && sent < 1000) {
        const r = await this.routers.ping(host, target.address, 1);
        sent += r.sent;
        if (r.received) {
          await this.attach(`${host} → ${target.label}: first reply after ${Date.now() - t0} ms (${sent} probes, ping on the device)`, 'text/plain');
          return;
        }
      }
      throw new CheckFailed(`${host} → ${target.label} not reachable within ${formatMs(ms)}; 0/${sent} pings on the device answered`);
    }
    const r = await reachWithin(await this.probeNs(host), target.address, ms);
    if (r.ok) {
      await this.attach(`${host} → ${target.label}: first reply after ${r.elapsedMs} ms (${r.sent} probes)`, 'text/plain');
      return;
    }
    throw new CheckFailed(`${host} → ${target.label} not reachable within ${formatMs(ms)}; ${r.okCount}/${r.sent} probes ok` +
      `${r.last ? ` (last: ${lastLine(r.last.output)})` : ''}\n${await this.evidence(host)}`);
  }

  /** A matrix: first row = targets, first column = sources, cells ok/ng (○/×, ✓/✗, - skips). */
  async reachability(rows: string[][]): Promise<void> {
    const [head, ...body] = rows;
    if (!head || head.length < 2 || !body.length) throw new UserError('the reachability table needs a header row of targets and one row per source host');
    const targets = head.slice(1).map((t) => this.target(t));
    const cells: Array<{ r: number; c: number; src: string; want: boolean }> = [];
    body.forEach((row, r) => {
      const src = this.host(row[0] ?? '');
      row.slice(1).forEach((cell, c) => {
        const want = parseMark(cell);
        if (want !== undefined) cells.push({ r, c, src, want });
      });
    });
    // One source at a time probes all its targets at once (one process per source, not per cell).
    const got: boolean[] = new Array(cells.length);
    const failed: (string | undefined)[] = new Array(cells.length);
    const sources = [...new Set(cells.map((x) => x.src))];
    await mapLimit(sources, 6, async (src) => {
      const mine = cells.map((x, i) => ({ ...x, i })).filter((x) => x.src === src);
      if (this.isDevice(src)) {
        // A device pings each target itself, one after the other (bounded: 3 pings of 1 s each at most).
        for (const x of mine) got[x.i] = (await this.routers.ping(src, (targets[x.c] as Target).address, x.want ? 3 : 2)).received > 0;
        return;
      }
      const ns = await this.probeNs(src);
      const oks = mine.filter((x) => x.want);
      const ngs = mine.filter((x) => !x.want);
      const [okR, ngR] = await Promise.all([
        reachMany(ns, oks.map((x) => (targets[x.c] as Target).address), { attempts: 3 }),
        confirmUnreachableMany(ns, ngs.map((x) => (targets[x.c] as Target).address), { probes: 2, timeoutMs: 1000 }),
      ]);
      oks.forEach((x, k) => { got[x.i] = (okR[k] as { ok: boolean }).ok; });
      ngs.forEach((x, k) => {
        const u = ngR[k] as { unreachable: boolean; failed?: string };
        got[x.i] = !u.unreachable;
        if (u.failed) failed[x.i] = u.failed;
      });
    });
    const actual = body.map((row) => [row[0] ?? '', ...row.slice(1).map(() => '-')]);
    let wrong = 0;
    cells.forEach((x, i) => {
      const ok = got[i] as boolean;
      const mark = ok ? 'ok' : 'ng';
      if (failed[i]) { wrong++; (actual[x.r] as string[])[x.c + 1] = `?? (probe could not run: ${failed[i]})`; return; }
      if (ok !== x.want) { wrong++; (actual[x.r] as string[])[x.c + 1] = `${mark} (expected ${x.want ? 'ok' : 'ng'})`; }
      else (actual[x.r] as string[])[x.c + 1] = mark;
    });
    const picture = table([head.map((h, i) => (i === 0 ? 'from \\ to' : h)), ...actual]);
    if (wrong) throw new CheckFailed(`reachability differs in ${wrong} of ${cells.length} cells:\n${picture}`);
    await this.attach(picture, 'text/plain');
  }

  // ---- TCP and HTTP --------------------------------------------------------------------------

  async canConnect(host: string, target: Target, port: number): Promise<void> {
    const r = await tcpConnect(await this.ns(host), target.address, port, 3000);
    if (!r.ok) throw new CheckFailed(`${host} cannot connect to ${target.label} port ${port} (${r.error ?? 'failed'} after ${r.ms} ms)\n${await this.evidence(host)}`);
  }

  async cannotConnect(host: string, target: Target, port: number): Promise<void> {
    const r = await tcpConnect(await this.ns(host), target.address, port, 3000);
    if (r.ok) throw new CheckFailed(`${host} can connect to ${target.label} port ${port} but must not (connected in ${r.ms} ms)`);
  }

  async httpStatus(host: string, url: string, status: number): Promise<void> {
    const u = this.url(url);
    const r = await httpGet(await this.ns(host), u, 5000);
    if (r.status === status) return;
    throw new CheckFailed(`${host} GET ${u}: ${r.status !== undefined ? `status ${r.status}` : `no answer (${r.error ?? 'failed'})`}, expected ${status}` +
      (r.status === undefined ? `\n${await this.evidence(host)}` : ''));
  }

  /** URLs may name a node instead of an address: http://dns/ → http://198.51.100.53/. */
  url(text: string): string {
    const raw = unquote(text);
    let u: URL;
    try { u = new URL(raw); } catch { throw new UserError(`cannot read URL ${raw}`, 'write e.g. http://10.0.0.80/ or http://server:8080/path'); }
    if (!/^https?:$/.test(u.protocol)) throw new UserError(`cannot fetch ${raw} (only http and https)`);
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    if (hostNames(this.requireLab().lab).includes(hostname)) {
      const t = this.target(hostname);
      u.hostname = t.family === 6 ? `[${t.address}]` : t.address;
    }
    return u.toString();
  }

  // ---- links ---------------------------------------------------------------------------------

  async linkDown(link: Link | ExternalLink): Promise<void> {
    const lab = this.requireLab();
    const undo = link.type === 'external' ? await deviceLinkDown(lab, link) : await linkDown(lab, link);
    this.undo.push(`bring link ${link.name} back up`, undo);
  }

  async linkUp(link: Link | ExternalLink): Promise<void> {
    if (link.type === 'external') await deviceLinkUp(this.requireLab(), link);
    else await linkUp(this.requireLab(), link);
  }

  async linkLoss(link: Link | ExternalLink, percent: number): Promise<void> {
    if (link.type === 'external') throw notOnDeviceCable(link, `add ${percent}% loss`);
    this.undo.push(`remove ${percent}% loss on link ${link.name}`, await linkLoss(this.requireLab(), link, percent));
  }

  async linkRate(link: Link | ExternalLink, bps: number): Promise<void> {
    if (link.type === 'external') throw notOnDeviceCable(link, 'limit the rate');
    this.undo.push(`remove the rate limit on link ${link.name}`, await linkRate(this.requireLab(), link, bps));
  }

  async linkDelay(link: Link | ExternalLink, ms: number): Promise<void> {
    if (link.type === 'external') throw notOnDeviceCable(link, 'add delay');
    this.undo.push(`remove the delay on link ${link.name}`, await linkDelay(this.requireLab(), link, ms));
  }

  // ---- DNS servers and the routers between them ---------------------------------------------------

  /** A responder node answers every IPv4 UDP query with checksum 0 (legal, RFC 768) until undone. */
  async zeroChecksumServer(host: string): Promise<void> {
    this.undo.push(`let DNS server ${host} fill in UDP checksums again`, await setResponder(this.requireLab(), host, { zeroChecksum: true }));
  }

  /** A router rewrites zero UDP checksums of DNS replies to a wrong value (the broken consumer NAT). */
  async brokenNat(host: string): Promise<void> {
    this.undo.push(`stop router ${host} rewriting zero UDP checksums`, await breakZeroChecksums(this.requireLab(), host));
  }

  // ---- commands ------------------------------------------------------------------------------

  async run(host: string, command: string): Promise<void> {
    const cmd = unquote(command);
    const r = this.isDevice(host) ? await this.routers.exec(host, cmd) : await this.requireLab().exec(host, ['sh', '-c', cmd], { timeoutMs: 60000 });
    this.output = { host, command: cmd, code: r.code, stdout: r.stdout, stderr: r.stderr };
    await this.attach(`$ ${cmd}   (on ${host}, exit ${r.code})\n${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}`, 'text/plain');
  }

  outputContains(text: string): void {
    const want = unquote(text);
    const o = this.output;
    if (!o) throw new UserError('no command output yet', 'run a command first: `When client runs "…"` / `もし client で "…" を実行する`');
    if (!`${o.stdout}\n${o.stderr}`.includes(want)) {
      throw new CheckFailed(`the output of \`${o.command}\` on ${o.host} (exit ${o.code}) does not contain "${want}":\n${clip(o.stdout + (o.stderr ? `\n[stderr]\n${o.stderr}` : ''))}`);
    }
  }

  // ---- end of scenario -----------------------------------------------------------------------

  /** Undoes every change of the scenario, in reverse order; throws if any inverse failed. */
  async finish(): Promise<void> {
    const failures = await this.undo.unwind();
    await this.routers.close();
    if (failures.length) throw new Error(`could not undo the scenario's changes:\n  ${failures.join('\n  ')}`);
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter(Boolean);
  return lines.find((l) => /unreachable|Unreachable|100% packet loss|Network is|not known/.test(l)) ?? lines[lines.length - 1] ?? 'no output';
}

function clip(s: string, max = 2000): string {
  return s.length > max ? `${s.slice(0, max)}\n… (${s.length - max} more characters)` : s;
}
/** A negative check never passes on a probe that did not run. */
function probeFailed(host: string, target: Target, why: string): CheckFailed {
  return new CheckFailed(`cannot tell whether ${host} reaches ${target.label}: the probe could not run (${why}), so "cannot reach" is not shown`);
}

