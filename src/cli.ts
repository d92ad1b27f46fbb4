// Owns the `tsunagari` command line: argument parsing, progress and tables on the terminal, exit codes.
// User mistakes print one line (object, file:line, hint) and exit 1 without a stack trace.
// Every command is a thin call into src/ (topology, lab, setup, report).
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isUserError, UserError } from './util/errors.js';
import { loadTopology } from './topology/load.js';
import { KINDS } from './topology/kinds.js';
import { Context } from './lab/context.js';
import { up, type Progress } from './lab/up.js';
import { teardown, cleanupAll } from './lab/down.js';
import { openLab } from './lab/running.js';
import { Ledger } from './lab/ledger.js';
import { discoverLab, labsIn } from './lab/discover.js';
import { topologySvg } from './report/graph.js';
import { labTables } from './lab/status.js';
import { setup, stopSetup } from './setup/index.js';
import { doctor, formatDoctor } from './setup/doctor.js';
import { applyProfile, chosenProfile, looksLikeInventory, topologyWithProfilesJsonSchema } from './topology/inventory.js';
import { labsWithDeviceRecords, pendingRollbacks, restoreDevices } from './devices/snapshot.js';
import { holderOf, standing } from './lab/instance.js';
import { leaseHeld, tryLease } from './util/lease.js';
import { Journal } from './lab/journal.js';
import { isInstanceName } from './topology/naming.js';
import { SESSION_RE, inSession } from './lab/labels.js';
import type { Lab } from './topology/types.js';

/**
 * A topology file with a profile applied (`--profile lab` or $TSUNAGARI_PROFILE), or an inventory file
 * itself (`topologies/dual-path.lab.yaml`: its topology is `topologies/dual-path.yaml`).
 */
async function loadLab(file: string, profile?: string): Promise<Lab> {
  const m = /^([^.]+)\.([^.]+)\.ya?ml$/.exec(basename(file));
  const topo = m ? ['.yaml', '.yml'].map((e) => join(dirname(file), `${m[1]}${e}`)).find((f) => existsSync(f)) : undefined;
  if (m && looksLikeInventory(file) && topo) {
    if (profile !== undefined && profile !== m[2]) throw new UserError(`cannot use inventory ${file} with --profile ${profile} (it is the inventory of profile ${m[2]})`);
    return applyProfile(await loadTopology(topo), m[2]!, existsSync);
  }
  return applyProfile(await loadTopology(file), chosenProfile(profile), existsSync);
}

function labSummary(lab: Lab): string {
  const ext = lab.external?.length ? `, ${lab.external.length} external device${lab.external.length > 1 ? 's' : ''} (${lab.external.map((x) => x.name).join(', ')})` : '';
  return `${lab.nodes.length} nodes, ${lab.switches.length} switches, ${lab.links.length} links${ext}${lab.profile ? `, profile ${lab.profile.name}` : ''}`;
}


const USAGE = `tsunagari — network acceptance tests on real labs (containers, Open vSwitch, veth, VXLAN)

usage:
  tsunagari setup [--no-images] [--stop]   install what is missing, start Docker and OVS, build images
  tsunagari doctor                          what this machine has, lacks or cannot do, and how to fix it
  tsunagari validate <topology.yaml>... [--profile P]
                                           check topology files (or inventories <lab>.<P>.yaml) without creating anything
  tsunagari up <topology.yaml> [--profile P]
                                           bring a lab up (progress per node/link, then a summary);
                                           --profile: apply topologies/<lab>.<P>.yaml (external devices)
  tsunagari status [<lab>] [--json]        labs that are up (kept, in use by a run, dead): nodes, addresses, links; leftovers
  tsunagari exec <lab> <node> -- <cmd>...  run a command inside a node (terminal attached)
  tsunagari graph <topology.yaml|lab>      the topology as SVG on stdout
  tsunagari down <lab>...                  remove exactly these labs (never one a live run is using)
  tsunagari cleanup [--all] [--check [--session S]]
                                           remove what dead runs left behind (labs live runs use and labs
                                           \`up\` keeps stay; a kept lab is put back from a dead run's changes);
                                           --all: kept labs too; --check: only list it, exit 1 if there is
                                           any or if Docker/OVS could not be looked at; --session: only
                                           what runs with TSUNAGARI_SESSION=S created
  tsunagari test [<paths>...] [--format pretty|progress|summary] [--tags EXPR] [--name RE] [--profile P]
                 [--parallel N] [--fresh]
                                           run .feature files (default features/) against their labs
                                           (with --profile: the labs' inventories for P, e.g. lab);
                                           each run (each of N parallel workers) gets lab copies of its own,
                                           or leases a lab \`up\` keeps (--fresh: never); reports in reports/
  tsunagari kinds                          the node kinds and their defaults
  tsunagari schema                         the topology JSON Schema on stdout
`;

const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); };
const err = (s: string): void => { process.stderr.write(s.endsWith('\n') ? s : `${s}\n`); };

function progressPrinter(): (p: Progress) => void {
  const tty = process.stdout.isTTY;
  const mark = (s: Progress['status']): string => (s === 'done' ? (tty ? '\x1b[32m✓\x1b[0m' : '✓') : s === 'fail' ? (tty ? '\x1b[31m✗\x1b[0m' : '✗') : '…');
  return (p) => {
    if (p.status === 'start' && p.phase !== 'unwind') return;
    if (p.phase === 'unwind') { out(p.status === 'start' ? '  unwinding: removing what was created …' : '  unwound: nothing left behind'); return; }
    if (p.phase === 'ready') { out(`lab ${p.name} is up in ${((p.ms ?? 0) / 1000).toFixed(1)} s`); return; }
    const ms = p.ms !== undefined ? ` ${p.ms} ms` : '';
    out(`  ${mark(p.status)} ${p.phase.padEnd(6)} ${p.name}${ms}${p.status === 'fail' && p.detail ? `: ${p.detail.split('\n')[0]}` : ''}`);
  };
}

async function cmdUp(ctx: Context, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { profile: { type: 'string' } } });
  if (positionals.length !== 1) throw new UserError('usage: tsunagari up <topology.yaml> [--profile <name>]');
  const lab = await loadLab(positionals[0] as string, values.profile);
  out(`bringing up lab ${lab.name} (${labSummary(lab)})`);
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) { err(`\n${sig}: stopping start-up and removing what was created (again to quit at once)`); ac.abort(); }
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await up(ctx, lab, { progress: progressPrinter(), signal: ac.signal, keep: true });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out('');
  out(await labTables(openLab(ctx, lab.name)));
  out(`\nnext: tsunagari exec ${lab.name} ${lab.nodes[0]?.name ?? '<node>'} -- ip -br addr   ·   tsunagari down ${lab.name}`);
  return 0;
}

async function cmdValidate(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { profile: { type: 'string' } } });
  if (!positionals.length) throw new UserError('usage: tsunagari validate <topology.yaml>... [--profile <name>]');
  let bad = 0;
  for (const f of positionals) {
    try {
      const lab = await loadLab(f, values.profile);
      out(`✓ ${f}: lab ${lab.name}: ${labSummary(lab)}`);
      // Without --profile, the profiles written into the topology are checked too (each a line of its own).
      if (!lab.profile && values.profile === undefined && !process.env.TSUNAGARI_PROFILE) {
        for (const p of lab.profiles ?? []) {
          try {
            out(`✓ ${f}: profile ${p}: ${labSummary(applyProfile(lab, p, existsSync))}`);
          } catch (e) {
            if (!isUserError(e)) throw e;
            bad++;
            err(e.message);
          }
        }
      }
    } catch (e) {
      if (!isUserError(e)) throw e;
      bad++;
      err(e.message);
    }
  }
  return bad ? 1 : 0;
}

async function cmdStatus(ctx: Context, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const ledgers = positionals.length ? positionals.map((n) => openLab(ctx, n).ledger) : Ledger.all();
  const standings = await Promise.all(ledgers.map((l) => standing(l)));
  if (values.json) {
    out(JSON.stringify(ledgers.map((l, i) => ({ lab: l.data.lab, topology_lab: l.base, run: l.data.run, state: l.data.state, standing: standings[i], keep: !!l.data.keep, engine: l.data.engine ?? null, startedAt: l.data.startedAt, file: l.data.file, topology: l.data.topology, handles: l.data.handles })), null, 2));
    return 0;
  }
  if (!ledgers.length) out('no lab is up');
  for (const [i, l] of ledgers.entries()) {
    const st = standings[i];
    const how = st === 'in-use' ? `in use by ${holderOf(l.data.lab)}` : st === 'kept' ? 'kept up by `tsunagari up`, free' : `dead (its run ${l.data.run} is gone): \`tsunagari cleanup\` removes it`;
    out(`${l.data.lab}${l.data.lab !== l.base ? ` (a copy of lab ${l.base})` : ''}: ${how}`);
    out(`${await labTables(openLab(l.data.engine?.docker ? ctx.onEngine(l.data.engine.docker) : ctx, l.data.lab))}\n`);
  }
  if (!positionals.length) {
    const found = await discoverLab(ctx, undefined);
    const known = new Set(ledgers.map((l) => l.data.lab));
    const orphans = labsIn(found).filter((n) => !known.has(n));
    for (const o of orphans) out(`leftovers of lab ${o} (no ledger): run \`tsunagari cleanup\``);
    for (const s of found.skipped) out(`note: ${s}`);
    for (const m of found.malformed) out(`note: ignored ${m}: not a name tsunagari gives; never touched by tsunagari`);
  }
  return 0;
}

async function cmdExec(ctx: Context, args: string[]): Promise<number> {
  const dash = args.indexOf('--');
  const head = dash >= 0 ? args.slice(0, dash) : args.slice(0, 2);
  const cmd = dash >= 0 ? args.slice(dash + 1) : args.slice(2);
  if (head.length !== 2 || !cmd.length) throw new UserError('usage: tsunagari exec <lab> <node> -- <command> [args…]');
  const running = openLab(ctx, head[0] as string);
  const prefix = await running.commandPrefix(head[1] as string);
  return new Promise((resolve, reject) => {
    const child = spawn(prefix[0] as string, [...prefix.slice(1), ...cmd], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
  });
}

async function cmdGraph(ctx: Context, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UserError('usage: tsunagari graph <topology.yaml|lab>');
  const a = args[0] as string;
  const lab = /\.ya?ml$/i.test(a) ? await loadLab(a) : openLab(ctx, a).lab;
  process.stdout.write(topologySvg(lab));
  return 0;
}

async function cmdDown(ctx: Context, args: string[]): Promise<number> {
  if (!args.length) throw new UserError('usage: tsunagari down <lab>...', '`tsunagari status` lists the labs; `tsunagari cleanup` removes everything');
  for (const name of args) {
    const hadLedger = !!Ledger.read(name);
    const r = await teardown(ctx, name);
    const n = r.removed;
    if (!hadLedger && n.containers + n.namespaces + n.bridges + n.interfaces === 0) {
      throw new UserError(`unknown lab ${name}; known: ${Ledger.all().map((l) => l.data.lab).join(', ') || '(none up)'}`);
    }
    out(`lab ${name} is down (removed ${n.containers} containers, ${n.namespaces} namespaces, ${n.bridges} bridges, ${n.interfaces} interfaces)`);
    for (const s of r.skipped) out(`note: ${s}`);
  }
  return 0;
}

async function cmdCleanup(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { check: { type: 'boolean' }, all: { type: 'boolean' }, session: { type: 'string' } } });
  if (values.session !== undefined && (!values.check || !SESSION_RE.test(values.session))) {
    throw new UserError(`invalid --session ${values.session}`, 'use it with --check: `tsunagari cleanup --check --session <TSUNAGARI_SESSION of the runs to check>`');
  }
  if (values.check) {
    const all = await discoverLab(ctx, undefined);
    // --session: only what runs of that session created (a CI job checks its own leftovers on a shared machine).
    const s = values.session;
    const of = <T extends { run: string }>(xs: T[]): T[] => (s === undefined ? xs : xs.filter((x) => inSession(x.run, s)));
    const found = { ...all, containers: of(all.containers), namespaces: of(all.namespaces), bridges: of(all.bridges), ports: of(all.ports), hostIfs: of(all.hostIfs),
      ledgers: s === undefined ? all.ledgers : all.ledgers.filter((l) => inSession(l.data.run, s)), remote: s === undefined ? all.remote : [] };
    let bad = 0;
    // Not being able to look is not "clean": name the engine and fail.
    for (const s of found.skipped) { err(`cannot check: ${s}`); bad++; }
    const ledgerOf = new Map(found.ledgers.map((l) => [l.data.lab, l]));
    const left: string[] = [];
    for (const lab of labsIn(found)) {
      const l = ledgerOf.get(lab);
      const st = isInstanceName(lab) && l ? await standing(l) : isInstanceName(lab) && await leaseHeld('lab', lab) ? 'in-use' : 'dead';
      if (st === 'in-use') { out(`in use: lab ${lab} (${holderOf(lab)})`); continue; }
      if (st === 'kept' && !values.all) {
        const open = (() => { try { return new Journal(lab).entries().length; } catch { return 1; } })();
        if (!open) { out(`kept: lab ${lab} (\`tsunagari up\`; \`tsunagari down ${lab}\` removes it)`); continue; }
        err(`left behind in kept lab ${lab}: ${open} change(s) of a run that died; \`tsunagari cleanup\` undoes them`);
        bad++;
        continue;
      }
      left.push(lab);
    }
    const devices = labsWithDeviceRecords().filter((l) => s === undefined || found.ledgers.some((x) => x.data.lab === l) || !Ledger.read(l));
    for (const l of devices) {
      if (await leaseHeld('lab', l)) continue;
      for (const r of pendingRollbacks(l).filter((x) => x.access)) { bad++; err(`left behind on external device ${r.node} of lab ${l}: ${r.action ? (r.action.kind === 'interface-up' ? `${r.action.iface} is down` : `${r.action.iface} drops everything`) : 'a pushed configuration'} (run ${r.pid}, ${r.createdAt}); \`tsunagari cleanup\` restores it`); }
    }
    if (left.length) { err(`left behind by runs that are gone: lab(s) ${left.join(', ')}; \`tsunagari cleanup\` removes them`); bad++; }
    for (const m of all.malformed) out(`note: ignored ${m}: not a name tsunagari gives; never touched by tsunagari`);
    if (!bad) out('clean: nothing left behind by runs that are gone, nothing pending on external devices');
    return bad ? 1 : 0;
  }
  const results = await cleanupAll(ctx, { all: !!values.all });
  // Changes a killed run left on external devices (config pushes, links down, silent drops): put back
  // (not for labs a live run holds: their records are that run's).
  let deviceFailures = 0;
  for (const l of labsWithDeviceRecords()) {
    const lease = await tryLease('lab', l, `tsunagari cleanup`);
    if (!lease) { out(`external devices of lab ${l}: left alone (in use by ${holderOf(l)})`); continue; }
    try {
      for (const r of await restoreDevices(l)) {
        if (r.ok) out(`external device ${r.node}: ${r.message}`);
        else { deviceFailures++; err(`external device ${r.node}: NOT restored: ${r.message}`); }
      }
    } finally { await lease.release(); }
  }
  let failures = deviceFailures;
  if (!results.length) out('nothing to clean up: no tsunagari containers, bridges, interfaces, namespaces or ledgers');
  for (const r of results) {
    const n = r.removed;
    if (r.left === 'in-use') { out(`lab ${r.lab}: left alone (in use by ${holderOf(r.lab)})`); continue; }
    if (r.left === 'kept') {
      for (const u of r.recovered?.undone ?? []) out(`lab ${r.lab}: ${u}`);
      for (const f of r.recovered?.failed ?? []) { failures++; err(`lab ${r.lab}: NOT undone: ${f}; \`tsunagari down ${r.lab}\` removes the lab`); }
      out(`lab ${r.lab}: kept (\`tsunagari up\`; \`tsunagari down ${r.lab}\` or \`cleanup --all\` removes it)`);
      continue;
    }
    out(`lab ${r.lab}: removed ${n.containers} containers, ${n.namespaces} namespaces, ${n.bridges} bridges, ${n.interfaces} interfaces`);
  }
  const again = await discoverLab(ctx, undefined);
  for (const s of again.skipped) { failures++; err(`cannot check: ${s}`); }
  for (const m of again.malformed) out(`note: ignored ${m}: not a name tsunagari gives; never touched by tsunagari`);
  const stay = new Set(results.filter((r) => r.left).map((r) => r.lab));
  const still: string[] = [];
  for (const l of labsIn(again)) {
    if (stay.has(l)) continue;
    // A lab a run started meanwhile is in use; a kept one is left by design.
    const led = isInstanceName(l) ? Ledger.read(l) : undefined;
    if (isInstanceName(l) && (await leaseHeld('lab', l) || (!values.all && led?.data.keep && led.data.state === 'up'))) continue;
    still.push(l);
  }
  if (still.length) { err(`still present after cleanup: resources of ${still.join(', ')}`); return 1; }
  return failures ? 1 : 0;
}

/** Commands that create, enter or remove network namespaces, containers or OVS ports. */
const NEEDS_ROOT = new Set(['setup', 'up', 'down', 'cleanup', 'exec', 'status', 'test']);

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd && NEEDS_ROOT.has(cmd) && process.getuid?.() !== 0) {
    throw new UserError(`cannot ${cmd} (tsunagari needs root: it creates network namespaces, veth pairs, OVS bridges and containers)`,
      `run it as root, e.g. \`sudo npx tsunagari ${cmd}${args.length ? ' …' : ''}\``);
  }
  // Engine start-up is worth a line; "reusing the running engine" only with TSUNAGARI_VERBOSE.
  const ctx = new Context((line) => { if (process.env.TSUNAGARI_VERBOSE || !/: reusing /.test(line)) err(line); });
  switch (cmd) {
    case 'setup': {
      const { values } = parseArgs({ args, options: { 'no-images': { type: 'boolean' }, stop: { type: 'boolean' } } });
      if (values.stop) { await stopSetup(out); return 0; }
      await setup({ log: out, images: !values['no-images'] });
      return 0;
    }
    case 'doctor': { const r = await doctor(); out(formatDoctor(r)); return 0; }
    case 'validate': return cmdValidate(args);
    case 'up': return cmdUp(ctx, args);
    case 'status': return cmdStatus(ctx, args);
    case 'exec': return cmdExec(ctx, args);
    case 'graph': return cmdGraph(ctx, args);
    case 'down': return cmdDown(ctx, args);
    case 'cleanup': return cmdCleanup(ctx, args);
    case 'test': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
        format: { type: 'string' }, tags: { type: 'string' }, name: { type: 'string', multiple: true },
        reports: { type: 'string' }, 'no-setup': { type: 'boolean' }, profile: { type: 'string' },
        parallel: { type: 'string' }, fresh: { type: 'boolean' } } });
      const parallel = values.parallel === undefined ? 0 : Number(values.parallel);
      if (!Number.isInteger(parallel) || parallel < 0 || parallel > 64) throw new UserError(`invalid --parallel ${values.parallel} (a whole number of workers, 0..64)`);
      if (values.fresh) process.env.TSUNAGARI_REUSE = 'never';
      // The pool in every scenario's world reads it (src/scenario/pool.ts); checked here for a clear error.
      if (values.profile !== undefined) process.env.TSUNAGARI_PROFILE = chosenProfile(values.profile);
      if (!values['no-setup']) await setup({ log: (l) => { if (!/: (reusing|all \d+ present|up to date)/.test(l)) err(l); }, images: true });
      // Cucumber is loaded only for this command (src/ never imports it; steps/ is its side).
      const { runTests } = await import('../steps/runner.js');
      const ok = await runTests({ paths: positionals, cwd: process.cwd(), format: values.format, tags: values.tags, name: values.name, reports: values.reports, parallel });
      return ok ? 0 : 1;
    }
    case 'kinds':
      for (const k of Object.values(KINDS)) out(`${k.name.padEnd(Math.max(...Object.keys(KINDS).map((n) => n.length)))}  ${k.description}`);
      return 0;
    case 'schema': out(JSON.stringify(topologyWithProfilesJsonSchema(), null, 2)); return 0;
    case undefined: case 'help': case '--help': case '-h': out(USAGE); return 0;
    default: throw new UserError(`unknown command ${cmd}; known: setup, doctor, validate, up, status, exec, graph, down, cleanup, test, kinds, schema`, '`tsunagari help`');
  }
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (isUserError(e)) {
      err(`tsunagari: ${e.message}`);
    } else {
      const m = e instanceof Error ? e.message : String(e);
      err(`tsunagari: ${m}`);
      if (process.env.TSUNAGARI_DEBUG) err((e as Error).stack ?? '');
      else err('(set TSUNAGARI_DEBUG=1 to see where this came from)');
    }
    process.exitCode = 1;
  }
}
