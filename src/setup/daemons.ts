// Owns finding, starting and stopping the Docker engine and Open vSwitch daemons tsunagari runs on.
// Reuses a running engine when one answers; starts its own only below STATE_DIR and stops only the ones
// it started (by its own pidfiles). It must not touch foreign daemons, host interfaces, bridges or iptables.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { run, runOk } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { checkSocketPaths, ensureDirs, paths, type Log } from './paths.js';
import { pidAlive, sleep, withLock } from './lock.js';
import { localDocker } from '../util/docker-client.js';

export interface DockerEngine { socketPath: string; startedByUs: boolean }
export interface OvsEngine {
  /** ovsdb remote, e.g. `unix:/var/lib/tsunagari/ovs/run/db.sock` (pass as `ovs-vsctl --db=…`). */
  db: string;
  rundir: string;
  /** unixctl socket of the ovs-vswitchd serving this db (for `ovs-appctl -t …`). */
  vswitchdCtl: string;
  startedByUs: boolean;
}
export interface EngineLocation { dockerSocket: string; ovsDb: string; ovsRundir: string; vswitchdCtl: string }

export const SYSTEM_DOCKER_SOCKET = '/var/run/docker.sock';
export const SYSTEM_OVS_RUNDIR = '/var/run/openvswitch';
const START_DEADLINE_MS = 30_000;
const PROBE_TIMEOUT_MS = 2_000;

/** PATH with the sbin directories (daemons live there; `sudo -E` or a login shell may drop them). */
function daemonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '/usr/bin:/bin').split(':');
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!path.includes(d)) path.push(d);
  return { ...process.env, PATH: path.join(':'), ...extra };
}

function errnoReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such socket';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return `no answer within ${PROBE_TIMEOUT_MS / 1000} s`;
  return (e as Error)?.message ?? String(e);
}

// ------------------------------------------------------------------------------------------ processes

export function procComm(pid: number): string | undefined {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return undefined; }
}

export function readPidfile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch { return undefined; }
}

/** The pid in `file` if that process is alive and its command name is `comm` (guards against pid reuse). */
export function livePid(file: string, comm: string): number | undefined {
  const pid = readPidfile(file);
  return pid !== undefined && pidAlive(pid) && procComm(pid) === comm ? pid : undefined;
}

/** Processes named `comm` in this network namespace. */
function processesInMyNetns(comm: string): number[] {
  let mine: string;
  try { mine = readlinkSync('/proc/self/ns/net'); } catch { return []; }
  const found: number[] = [];
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (procComm(pid) !== comm) continue;
    try { if (readlinkSync(`/proc/${pid}/ns/net`) === mine) found.push(pid); } catch { /* exited or not ours to read */ }
  }
  return found;
}

function cmdline(pid: number): string[] {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { return []; }
}

/** Last lines of a log file written after byte offset `from`. */
export function logTail(file: string, from = 0, n = 15): string {
  try {
    const text = readFileSync(file, 'utf8').slice(from);
    const lines = text.trim().split('\n').filter(Boolean).slice(-n);
    return lines.length ? lines.join('\n  ') : '(log is empty)';
  } catch { return `(no log at ${file})`; }
}

function fileSize(file: string): number {
  try { return statSync(file).size; } catch { return 0; }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(100);
  }
  return !pidAlive(pid);
}

/** Starts a long-running daemon in its own session with output appended to `logFile`; it survives our exit. */
export function spawnDetached(file: string, args: string[], logFile: string, env: NodeJS.ProcessEnv):
  { pid: number; exited: () => string | undefined } {
  // Keep one previous log; dockerd's is chatty and these daemons live for weeks.
  if (fileSize(logFile) > 10 * 1024 * 1024) renameSync(logFile, `${logFile}.1`);
  const fd = openSync(logFile, 'a');
  writeSync(fd, `--- tsunagari: ${new Date().toISOString()} starting ${file} ${args.join(' ')}\n`);
  let exitInfo: string | undefined;
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.on('error', (e: NodeJS.ErrnoException) => { exitInfo = e.code === 'ENOENT' ? `${file}: not found` : e.message; });
    child.on('exit', (code, signal) => { exitInfo = signal ? `killed by ${signal}` : `exit ${code}`; });
    child.unref();
    return { pid: child.pid ?? -1, exited: () => exitInfo };
  } finally {
    closeSync(fd);
  }
}

// ------------------------------------------------------------------------------------------ docker

/** Pings the engine at a unix socket; resolves with undefined when it answers, or the reason it does not. */
export async function pingDocker(socketPath: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  if (!existsSync(socketPath)) return 'no such socket';
  const docker = localDocker(socketPath, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (e) {
    return errnoReason(e);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Docker sockets to try, in order: $DOCKER_HOST (unix:// only), the system socket, ours. */
export function dockerCandidates(): string[] {
  const list: string[] = [];
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) list.push(host.slice('unix://'.length));
  list.push(SYSTEM_DOCKER_SOCKET, paths.docker.socket);
  return [...new Set(list)];
}

/** The first reachable Docker socket, or the reason each candidate failed. */
export async function findDocker(): Promise<{ socketPath?: string; tried: string[] }> {
  const tried: string[] = [];
  for (const sock of dockerCandidates()) {
    const why = await pingDocker(sock);
    if (why === undefined) return { socketPath: sock, tried };
    tried.push(`${sock}: ${why}`);
  }
  return { tried };
}

function canConnect(socketPath: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path: socketPath });
    const done = (ok: boolean): void => { clearTimeout(t); s.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

export async function waitFor(what: string, deadlineMs: number, probe: () => Promise<boolean>, exited: () => string | undefined,
  failure: (why: string) => Error): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await probe()) return;
    const ex = exited();
    if (ex) throw failure(`${what} ${ex}`);
    if (Date.now() > deadline) throw failure(`${what} did not answer within ${deadlineMs / 1000} s`);
    await sleep(100);
  }
}

/** A containerd config keeping its root, state, socket and plugin dir where given (no CRI). */
export function containerdConfig(c: { root: string; state: string; socket: string; opt: string }): string {
  return [
    'version = 2',
    `root = ${JSON.stringify(c.root)}`,
    `state = ${JSON.stringify(c.state)}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = ${JSON.stringify(c.socket)}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(c.opt)}`,
    '',
  ].join('\n');
}

/**
 * Our own containerd, so that its state, sockets and plugin dirs stay below STATE_DIR (the containerd dockerd
 * starts by itself writes /opt/containerd, and a stale /run/containerd/containerd.sock would hijack it).
 */
async function ensureContainerd(log: Log): Promise<string> {
  const c = paths.containerd;
  const running = livePid(c.pidfile, 'containerd');
  if (running !== undefined && await canConnect(c.socket)) return c.socket;
  if (running !== undefined) {
    throw new UserError(`cannot start the Docker engine (tsunagari's containerd, pid ${running}, runs but does not answer on ${c.socket}); log: ${c.log}`,
      'run `npx tsunagari setup --stop`, then `npx tsunagari setup`');
  }
  ensureDirs(c.root, c.state);
  writeFileSync(c.config, containerdConfig(c));
  const from = fileSize(c.log);
  const child = spawnDetached('containerd', ['--config', c.config], c.log, daemonEnv());
  writeFileSync(c.pidfile, `${child.pid}\n`);
  await waitFor('containerd', START_DEADLINE_MS, () => canConnect(c.socket), child.exited,
    (why) => new Error(`cannot start containerd (${why}); log: ${c.log}; last lines:\n  ${logTail(c.log, from)}`));
  log(`✓ containerd: started (pid ${child.pid}) at ${c.socket}`);
  return c.socket;
}

async function startDockerd(log: Log): Promise<number> {
  const d = paths.docker;
  checkSocketPaths();
  ensureDirs(d.dataRoot, d.execRoot, paths.run);
  // Our own config file: the host's /etc/docker/daemon.json must not add hosts or bridges, and the
  // (deprecated) trust key would otherwise be written to /etc/docker/key.json.
  writeFileSync(d.config, JSON.stringify({ 'deprecated-key-path': d.trustKey }, null, 2) + '\n');
  const args = [
    '--config-file', d.config,
    '--data-root', d.dataRoot,
    '--exec-root', d.execRoot,
    '--host', `unix://${d.socket}`,
    '--pidfile', d.pidfile,
    // Docker's iptables rules (FORWARD policy DROP + br_netfilter) break Linux bridges on the host.
    '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--bridge', 'none',
    ...(process.env.TSUNAGARI_DOCKER_STORAGE_DRIVER ? ['--storage-driver', process.env.TSUNAGARI_DOCKER_STORAGE_DRIVER] : []),
    '--containerd', await ensureContainerd(log),
  ];
  const from = fileSize(d.log);
  const child = spawnDetached('dockerd', args, d.log, daemonEnv());
  await waitFor('dockerd', START_DEADLINE_MS, async () => (await pingDocker(d.socket, 1000)) === undefined, child.exited,
    (why) => new Error(`cannot start the Docker engine (${why}); log: ${d.log}; last lines:\n  ${logTail(d.log, from)}`));
  return child.pid;
}

async function storageDriver(socketPath: string): Promise<string> {
  try {
    const info = await localDocker(socketPath, 5000).info() as { Driver?: string; ServerVersion?: string };
    return `docker ${info.ServerVersion ?? '?'}, storage ${info.Driver ?? '?'}`;
  } catch { return 'info unavailable'; }
}

/** Reuses a reachable Docker engine, or starts tsunagari's own dockerd (detached; it outlives this process). */
export async function ensureDocker(log: Log): Promise<DockerEngine> {
  const found = await findDocker();
  if (found.socketPath && found.socketPath !== paths.docker.socket) {
    log(`✓ docker engine: reusing ${found.socketPath}`);
    return { socketPath: found.socketPath, startedByUs: false };
  }
  const usesOurContainerd = (pid: number): boolean => cmdline(pid).includes('--containerd');
  const ourDockerd = livePid(paths.docker.pidfile, 'dockerd');
  if (found.socketPath && (ourDockerd === undefined || !usesOurContainerd(ourDockerd) ||
      livePid(paths.containerd.pidfile, 'containerd') !== undefined)) {
    log(`✓ docker engine: reusing ${found.socketPath} (tsunagari's own dockerd)`);
    return { socketPath: found.socketPath, startedByUs: false };
  }
  return withLock(paths.locks.docker, 'start the Docker engine', START_DEADLINE_MS * 2, async () => {
    // Another setup may have started it while we waited for the lock; or ours is still starting up.
    const running = livePid(paths.docker.pidfile, 'dockerd');
    if (running !== undefined) {
      // Our dockerd answers ping even when its containerd died, but then no container can start:
      // bring containerd back on the same socket (dockerd reconnects by itself).
      if (usesOurContainerd(running)) await ensureContainerd(log);
      await waitFor('dockerd', START_DEADLINE_MS, async () => (await pingDocker(paths.docker.socket, 1000)) === undefined,
        () => (pidAlive(running) ? undefined : 'exited'),
        (why) => new UserError(`cannot reach tsunagari's dockerd (pid ${running}: ${why}); log: ${paths.docker.log}`,
          'run `npx tsunagari setup --stop`, then `npx tsunagari setup`'));
      log(`✓ docker engine: reusing ${paths.docker.socket} (tsunagari's own dockerd, pid ${running})`);
      return { socketPath: paths.docker.socket, startedByUs: false };
    }
    const t0 = Date.now();
    const pid = await startDockerd(log);
    log(`✓ docker engine: started dockerd (pid ${pid}) at ${paths.docker.socket} in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
      `(${await storageDriver(paths.docker.socket)})`);
    return { socketPath: paths.docker.socket, startedByUs: true };
  });
}

// ------------------------------------------------------------------------------------------ open vswitch

function ovsEnv(): NodeJS.ProcessEnv {
  const o = paths.ovs;
  return daemonEnv({ OVS_RUNDIR: o.rundir, OVS_LOGDIR: o.logdir, OVS_DBDIR: o.dbdir, OVS_SYSCONFDIR: o.sysconfdir });
}

interface OvsProbe { ok?: OvsEngine; why?: string; vswitchdPid?: number }

/** Does the OVS in `rundir` answer: db.sock serves the database AND its ovs-vswitchd is alive? */
export async function probeOvs(rundir: string): Promise<OvsProbe> {
  const sock = join(rundir, 'db.sock');
  if (!existsSync(sock)) return { why: 'no db.sock' };
  const db = `unix:${sock}`;
  const show = await run('ovs-vsctl', [`--db=${db}`, `--timeout=${PROBE_TIMEOUT_MS / 1000}`, 'show'],
    { timeoutMs: PROBE_TIMEOUT_MS + 3000, env: daemonEnv() });
  if (show.code !== 0) return { why: `ovsdb-server does not answer (${(show.stderr.trim().split('\n').pop() || `exit ${show.code}`)})` };
  const pid = livePid(join(rundir, 'ovs-vswitchd.pid'), 'ovs-vswitchd');
  if (pid === undefined) return { why: 'ovsdb-server answers but no ovs-vswitchd is running' };
  const ctl = [join(rundir, 'ovs-vswitchd.ctl'), join(rundir, `ovs-vswitchd.${pid}.ctl`)].find((p) => existsSync(p));
  if (!ctl) return { why: `ovs-vswitchd (pid ${pid}) has no control socket in ${rundir}`, vswitchdPid: pid };
  const ver = await run('ovs-appctl', ['-t', ctl, `--timeout=${PROBE_TIMEOUT_MS / 1000}`, 'version'],
    { timeoutMs: PROBE_TIMEOUT_MS + 3000, env: daemonEnv() });
  if (ver.code !== 0) return { why: `ovs-vswitchd (pid ${pid}) does not answer on ${ctl}`, vswitchdPid: pid };
  return { ok: { db, rundir, vswitchdCtl: ctl, startedByUs: false }, vswitchdPid: pid };
}

/** OVS run directories to try, in order: $OVS_RUNDIR (if set), the system one, ours. */
export function ovsCandidates(): string[] {
  const list: string[] = [];
  if (process.env.OVS_RUNDIR) list.push(process.env.OVS_RUNDIR);
  list.push(SYSTEM_OVS_RUNDIR, paths.ovs.rundir);
  return [...new Set(list)];
}

export async function findOvs(): Promise<{ ok?: OvsEngine; tried: string[]; knownVswitchd: number[] }> {
  const tried: string[] = [];
  const knownVswitchd: number[] = [];
  for (const dir of ovsCandidates()) {
    const p = await probeOvs(dir);
    if (p.vswitchdPid !== undefined) knownVswitchd.push(p.vswitchdPid);
    if (p.ok) return { ok: p.ok, tried, knownVswitchd };
    tried.push(`${dir}: ${p.why}`);
  }
  return { tried, knownVswitchd };
}

/** A userspace ovs-vswitchd we do not know about, in our network namespace (a second one could not work). */
function foreignVswitchd(known: number[]): { pid: number; db?: string } | undefined {
  const ours = livePid(paths.ovs.vswitchdPidfile, 'ovs-vswitchd');
  for (const pid of processesInMyNetns('ovs-vswitchd')) {
    if (pid === ours || known.includes(pid)) continue;
    return { pid, db: cmdline(pid).find((a) => a.startsWith('unix:') || a.startsWith('tcp:')) };
  }
  return undefined;
}

async function waitOvsCtl(ctl: string, pid: number, log: string, from: number, what: string): Promise<void> {
  await waitFor(what, START_DEADLINE_MS,
    async () => existsSync(ctl) && (await run('ovs-appctl', ['-t', ctl, '--timeout=1', 'version'], { timeoutMs: 3000, env: ovsEnv() })).code === 0,
    () => (pidAlive(pid) ? undefined : 'exited'),
    (why) => new Error(`cannot start Open vSwitch (${why}); log: ${log}; last lines:\n  ${logTail(log, from)}`));
}

async function startOvs(log: Log): Promise<OvsEngine> {
  const o = paths.ovs;
  checkSocketPaths();
  ensureDirs(o.dbdir, o.rundir, o.logdir, o.sysconfdir);
  const env = ovsEnv();
  const db = `unix:${o.dbSocket}`;
  const started: string[] = [];

  const dbAnswers = async (): Promise<boolean> =>
    (await run('ovs-vsctl', [`--db=${db}`, '--timeout=2', 'show'], { timeoutMs: 5000, env })).code === 0;

  if (!(await dbAnswers())) {
    const stuck = livePid(o.ovsdbPidfile, 'ovsdb-server');
    if (stuck !== undefined) {
      throw new UserError(`cannot start Open vSwitch (tsunagari's ovsdb-server, pid ${stuck}, runs but does not answer on ${o.dbSocket}); log: ${o.ovsdbLog}`,
        'run `npx tsunagari setup --stop`, then `npx tsunagari setup`');
    }
    const schema = '/usr/share/openvswitch/vswitch.ovsschema';
    if (!existsSync(schema)) {
      throw new UserError(`cannot start Open vSwitch (${schema} is missing)`, 'run `npx tsunagari setup` (installs openvswitch-switch)');
    }
    if (!existsSync(o.db)) {
      await runOk('ovsdb-tool', ['create', o.db, schema], { env, timeoutMs: 30_000 });
    } else if ((await runOk('ovsdb-tool', ['needs-conversion', o.db, schema], { env, timeoutMs: 30_000 })).trim() === 'yes') {
      await runOk('ovsdb-tool', ['convert', o.db, schema], { env, timeoutMs: 60_000 });
    }
    const from = fileSize(o.ovsdbLog);
    const r = await run('ovsdb-server', [o.db, `--remote=punix:${o.dbSocket}`, `--pidfile=${o.ovsdbPidfile}`,
      `--unixctl=${o.ovsdbCtl}`, `--log-file=${o.ovsdbLog}`, '-vconsole:off', '--detach'], { env, timeoutMs: START_DEADLINE_MS });
    if (r.code !== 0) {
      throw new Error(`cannot start Open vSwitch (ovsdb-server exit ${r.code}: ${r.stderr.trim()}); log: ${o.ovsdbLog}; ` +
        `last lines:\n  ${logTail(o.ovsdbLog, from)}`);
    }
    await runOk('ovs-vsctl', [`--db=${db}`, '--timeout=10', '--no-wait', 'init'], { env, timeoutMs: 20_000 });
    started.push(`ovsdb-server (pid ${readPidfile(o.ovsdbPidfile)})`);
  }

  const vs = livePid(o.vswitchdPidfile, 'ovs-vswitchd');
  if (vs === undefined) {
    const from = fileSize(o.vswitchdLog);
    const r = await run('ovs-vswitchd', [db, `--pidfile=${o.vswitchdPidfile}`, `--unixctl=${o.vswitchdCtl}`,
      `--log-file=${o.vswitchdLog}`, '-vconsole:off', '--detach'], { env, timeoutMs: START_DEADLINE_MS });
    const pid = readPidfile(o.vswitchdPidfile);
    if (r.code !== 0 || pid === undefined) {
      throw new Error(`cannot start Open vSwitch (ovs-vswitchd exit ${r.code}: ${r.stderr.trim()}); log: ${o.vswitchdLog}; ` +
        `last lines:\n  ${logTail(o.vswitchdLog, from)}`);
    }
    await waitOvsCtl(o.vswitchdCtl, pid, o.vswitchdLog, from, 'ovs-vswitchd');
    started.push(`ovs-vswitchd (pid ${pid})`);
  } else {
    await waitOvsCtl(o.vswitchdCtl, vs, o.vswitchdLog, fileSize(o.vswitchdLog), 'ovs-vswitchd');
  }
  log(`✓ open vswitch: started ${started.join(' and ') || 'nothing (already running)'}, db ${db}`);
  return { db, rundir: o.rundir, vswitchdCtl: o.vswitchdCtl, startedByUs: started.length > 0 };
}

/** Reuses a running OVS (db answers and ovs-vswitchd alive), or starts tsunagari's own below STATE_DIR. */
export async function ensureOvs(log: Log): Promise<OvsEngine> {
  const found = await findOvs();
  if (found.ok) {
    log(`✓ open vswitch: reusing ${found.ok.db}${found.ok.rundir === paths.ovs.rundir ? ' (tsunagari\'s own)' : ''}`);
    return found.ok;
  }
  return withLock(paths.locks.ovs, 'start Open vSwitch', START_DEADLINE_MS * 2, async () => {
    const again = await probeOvs(paths.ovs.rundir);
    if (again.ok) {
      log(`✓ open vswitch: reusing ${again.ok.db} (tsunagari's own)`);
      return again.ok;
    }
    const foreign = foreignVswitchd(found.knownVswitchd);
    if (foreign) {
      throw new UserError(`cannot start Open vSwitch (another ovs-vswitchd, pid ${foreign.pid}${foreign.db ? `, db ${foreign.db}` : ''}, ` +
        'already runs in this network namespace, and only one userspace ovs-vswitchd per namespace can create netdev bridges)',
        'stop that ovs-vswitchd, or set OVS_RUNDIR to its run directory (the one holding its db.sock)');
    }
    return startOvs(log);
  });
}

// ------------------------------------------------------------------------------------------ find / stop

/**
 * Why tsunagari's own dockerd cannot run containers although it answers pings (its containerd died),
 * or undefined when that is not the case (or the engine is not ours).
 */
export function ownContainerdProblem(socketPath: string): string | undefined {
  if (socketPath !== paths.docker.socket) return undefined;
  const dockerd = livePid(paths.docker.pidfile, 'dockerd');
  if (dockerd === undefined || !cmdline(dockerd).includes('--containerd')) return undefined;
  if (livePid(paths.containerd.pidfile, 'containerd') !== undefined) return undefined;
  return `tsunagari's dockerd (pid ${dockerd}) answers, but its containerd is not running`;
}

/** Finds the running engine and OVS (never starts anything); UserError with a hint when one is missing. */
export async function findEngine(): Promise<EngineLocation> {
  const [d, o] = await Promise.all([findDocker(), findOvs()]);
  if (!d.socketPath) {
    throw new UserError(`cannot reach the Docker engine (${d.tried.join('; ')})`, 'run `npx tsunagari setup`');
  }
  const broken = ownContainerdProblem(d.socketPath);
  if (broken) throw new UserError(`cannot use the Docker engine (${broken})`, 'run `npx tsunagari setup`');
  if (!o.ok) {
    throw new UserError(`cannot reach Open vSwitch (${o.tried.join('; ')})`, 'run `npx tsunagari setup`');
  }
  return { dockerSocket: d.socketPath, ovsDb: o.ok.db, ovsRundir: o.ok.rundir, vswitchdCtl: o.ok.vswitchdCtl };
}

async function stopByPidfile(log: Log, name: string, pidfile: string, comm: string, graceMs: number): Promise<void> {
  const pid = livePid(pidfile, comm);
  if (pid === undefined) {
    log(`– ${name}: not running (no live pid in ${pidfile})`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  if (!(await waitExit(pid, graceMs))) {
    log(`! ${name} (pid ${pid}) did not exit within ${graceMs / 1000} s of SIGTERM; sending SIGKILL`);
    try { process.kill(pid, 'SIGKILL'); } catch { /* exited meanwhile */ }
    await waitExit(pid, 5000);
  }
  log(`✓ ${name}: stopped (pid ${pid})`);
}

/** Stops only the daemons tsunagari started (found by its own pidfiles below STATE_DIR). */
export async function stopDaemons(log: Log): Promise<void> {
  // dockerd first (it stops its containers, whose veths sit on OVS ports), then OVS. The start locks are
  // held so that a concurrent `setup` cannot reuse a daemon that is about to go away.
  await withLock(paths.locks.docker, 'stop the Docker engine', START_DEADLINE_MS * 2, async () => {
    await stopByPidfile(log, 'dockerd', paths.docker.pidfile, 'dockerd', 30_000);
    await stopByPidfile(log, 'containerd', paths.containerd.pidfile, 'containerd', 15_000);
  });
  await withLock(paths.locks.ovs, 'stop Open vSwitch', START_DEADLINE_MS * 2, async () => {
    await stopByPidfile(log, 'ovs-vswitchd', paths.ovs.vswitchdPidfile, 'ovs-vswitchd', 10_000);
    await stopByPidfile(log, 'ovsdb-server', paths.ovs.ovsdbPidfile, 'ovsdb-server', 10_000);
  });
}
