// Owns `tsunagari setup`: packages → Docker engine → Open vSwitch → built-in images, idempotent and fast
// when everything is there, one progress line per step. It must not create labs, bridges or containers;
// the pieces it calls own their own side effects (see packages.ts, daemons.ts, images.ts).
import { ensureDocker, ensureOvs, stopDaemons, type DockerEngine, type OvsEngine } from './daemons.js';
import { ensureImages, type EnsuredImage } from './images.js';
import { ensurePackages, requireRoot } from './packages.js';
import type { Log } from './paths.js';
import { localDocker } from '../util/docker-client.js';

export { BUILTIN_IMAGES, ensureImages, imageStatus } from './images.js';
export { ensureDocker, ensureOvs, findEngine, stopDaemons } from './daemons.js';
export { doctor, formatDoctor } from './doctor.js';
export { ensurePackages } from './packages.js';
export { STATE_DIR, paths, type Log } from './paths.js';

export interface SetupOptions {
  log: Log;
  /** Build the built-in images too (default true). */
  images?: boolean;
}

export interface SetupResult {
  docker: DockerEngine;
  ovs: OvsEngine;
  installed: string[];
  images: EnsuredImage[];
}

export async function setup(opts: SetupOptions): Promise<SetupResult> {
  const { log } = opts;
  requireRoot();
  const installed = await ensurePackages(log);
  const docker = await ensureDocker(log);
  const ovs = await ensureOvs(log);
  const images = opts.images === false
    ? []
    : await ensureImages(localDocker(docker.socketPath), ['host', 'debian'], log);
  return { docker, ovs, installed, images };
}

/** `tsunagari setup --stop`: stops the daemons tsunagari started (never foreign ones). */
export async function stopSetup(log: Log): Promise<void> {
  requireRoot();
  await stopDaemons(log);
}
