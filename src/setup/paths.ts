// Owns the layout of the one tsunagari state directory (TSUNAGARI_STATE, default /var/lib/tsunagari).
// Every file the set-up layer writes lives below it; this module only computes paths and creates dirs.
// It must not touch anything outside STATE_DIR, and never deletes anything.
import { mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

/** One line of progress for the user (the CLI prints it; tests collect it). */
export type Log = (line: string) => void;

export const STATE_DIR = process.env.TSUNAGARI_STATE || '/var/lib/tsunagari';

/** Longest unix socket path we allow (sun_path is 108 bytes; containerd nests sockets below exec-root). */
export const MAX_SOCKET_PATH = 100;

const run = join(STATE_DIR, 'run');
const ovs = join(STATE_DIR, 'ovs');
const docker = join(STATE_DIR, 'docker');
const images = join(STATE_DIR, 'images');

export const paths = {
  state: STATE_DIR,
  /** Sockets and pidfiles of the daemons tsunagari starts itself. */
  run,
  docker: {
    dir: docker,
    dataRoot: join(docker, 'data'),
    execRoot: join(docker, 'exec'),
    socket: join(run, 'docker.sock'),
    pidfile: join(run, 'dockerd.pid'),
    log: join(docker, 'dockerd.log'),
    config: join(docker, 'daemon.json'),
    trustKey: join(docker, 'key.json'),
  },
  /** The containerd tsunagari's dockerd talks to (started by tsunagari, not by dockerd). */
  containerd: {
    root: join(docker, 'containerd'),
    state: join(run, 'containerd'),
    socket: join(run, 'containerd', 'containerd.sock'),
    config: join(docker, 'containerd.toml'),
    opt: join(docker, 'containerd', 'opt'),
    pidfile: join(run, 'containerd.pid'),
    log: join(docker, 'containerd.log'),
  },
  ovs: {
    dir: ovs,
    dbdir: ovs,
    db: join(ovs, 'conf.db'),
    rundir: join(ovs, 'run'),
    logdir: join(ovs, 'log'),
    sysconfdir: join(ovs, 'etc'),
    dbSocket: join(ovs, 'run', 'db.sock'),
    ovsdbPidfile: join(ovs, 'run', 'ovsdb-server.pid'),
    ovsdbCtl: join(ovs, 'run', 'ovsdb-server.ctl'),
    ovsdbLog: join(ovs, 'log', 'ovsdb-server.log'),
    vswitchdPidfile: join(ovs, 'run', 'ovs-vswitchd.pid'),
    vswitchdCtl: join(ovs, 'run', 'ovs-vswitchd.ctl'),
    vswitchdLog: join(ovs, 'log', 'ovs-vswitchd.log'),
  },
  images: {
    dir: images,
    /** Temporary root filesystems; each build removes its own directory. */
    build: join(images, 'build'),
    log: (name: string): string => join(images, `${name}-build.log`),
    lock: (name: string): string => join(images, `${name}.lock`),
  },
  /** Lab ledgers (owned by the lab layer). */
  labs: join(STATE_DIR, 'labs'),
  locks: {
    docker: join(run, 'docker.lock'),
    ovs: join(run, 'ovs.lock'),
  },
} as const;

/** Sockets that must fit into sun_path; checked before a daemon is started. */
export function socketPaths(): string[] {
  return [
    paths.docker.socket,
    paths.containerd.socket + '.ttrpc',
    paths.ovs.dbSocket,
    paths.ovs.ovsdbCtl,
    paths.ovs.vswitchdCtl,
  ];
}

export function checkSocketPaths(): void {
  const long = socketPaths().filter((p) => Buffer.byteLength(p) > MAX_SOCKET_PATH);
  if (long.length) {
    throw new UserError(
      `cannot use state directory ${STATE_DIR} (socket path ${long[0]} is longer than ${MAX_SOCKET_PATH} bytes)`,
      'set TSUNAGARI_STATE to a shorter directory');
  }
}

/** Creates the given directories (and parents) below the state directory. */
export function ensureDirs(...dirs: string[]): void {
  for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o755 });
}

/** A directory for secrets-bearing state (ledgers with node environments, journals, device records with
 *  running configs, machine registry): created 0700, and made 0700 again if an older version left it wider. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}
