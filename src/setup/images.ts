// Owns building tsunagari's built-in container images locally (no registry exists; never pulls): a
// busybox-static image and a debootstrapped Debian image, cached by the sha256 of their recipe (image label).
// It must not touch images other than BUILTIN_IMAGES, nor write outside STATE_DIR/images (and its temp dirs).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync,
  rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import { run } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { ensureDirs, paths, type Log } from './paths.js';
import { withLock } from './lock.js';

export const BUILTIN_IMAGES = { host: 'tsunagari/host:latest', debian: 'tsunagari/debian:latest' } as const;
export type BuiltinImage = keyof typeof BUILTIN_IMAGES;
export const RECIPE_LABEL = 'tsunagari.recipe';

/**
 * PID 1 of every tsunagari container: stays alive, reaps adopted orphans (`wait` without arguments),
 * and exits at once on SIGTERM/SIGINT so that `docker stop` and `docker rm -f` are immediate.
 */
export const INIT_SCRIPT = `#!/bin/sh
# tsunagari-init: keeps the container alive; exits promptly on SIGTERM/SIGINT.
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait
done
`;
export const INIT_PATH = '/usr/local/sbin/tsunagari-init';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Recipe {
  name: BuiltinImage;
  tag: string;
  /** Bump when the build code changes in a way the fields below do not show. */
  version: string;
  base: string;
  packages: readonly string[];
  steps: readonly string[];
  init: string;
  changes: readonly string[];
}

export const DEBIAN_SUITE = 'bookworm';
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

const commonChanges = [`CMD ["${INIT_PATH}"]`, `ENV PATH=${PATH_ENV}`];

export const RECIPES: Record<BuiltinImage, Recipe> = {
  host: {
    name: 'host',
    tag: BUILTIN_IMAGES.host,
    version: '1',
    base: 'host busybox-static binary',
    packages: ['busybox-static'],
    steps: [
      'copy the static /bin/busybox of the host',
      'symlink every applet of `busybox --list-full` to /bin/busybox',
      'write /etc/passwd, /etc/group; create /tmp /root /proc /sys /dev /run /var mount points',
      `write ${INIT_PATH}`,
      'import with tar -C rootfs -c .',
    ],
    init: INIT_SCRIPT,
    changes: commonChanges,
  },
  debian: {
    name: 'debian',
    tag: BUILTIN_IMAGES.debian,
    version: '1',
    base: `debootstrap --variant=minbase ${DEBIAN_SUITE}`,
    packages: ['iproute2', 'iputils-ping', 'dnsutils', 'tcpdump', 'openssh-server', 'frr', 'frr-pythontools', 'unbound',
      'nsd', 'python3-minimal', 'nftables', 'ethtool', 'procps', 'curl', 'netcat-openbsd', 'iptables',
      // the agent on another machine (src/machines/agent.ts) runs its own userspace OVS from this image
      'openvswitch-switch'],
    steps: [
      'debootstrap --variant=minbase --include=PACKAGES',
      'policy-rc.d exit 101; remove rc.d start links; remove ssh host keys (per-container: ssh-keygen -A)',
      'dpkg path-exclude for docs, man, locales',
      'trim docs (keep copyright), man, info, locales, apt lists and caches, logs; empty resolv.conf',
      `write ${INIT_PATH}`,
      'import with tar -C rootfs -c .',
    ],
    init: INIT_SCRIPT,
    changes: commonChanges,
  },
};

/** The cache key of an image: sha256 over everything that defines its content. */
export function recipeHash(r: Recipe): string {
  const canonical = JSON.stringify({
    name: r.name, tag: r.tag, version: r.version, base: r.base, packages: r.packages, steps: r.steps,
    init: r.init, changes: r.changes,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export function importChanges(r: Recipe): string[] {
  return [...r.changes, `LABEL ${RECIPE_LABEL}=${recipeHash(r)}`, `LABEL tsunagari.image=${r.name}`];
}

// ------------------------------------------------------------------------------------------ status

export interface ImageStatus {
  name: BuiltinImage;
  tag: string;
  state: 'present' | 'missing' | 'outdated';
  expected: string;
  actual?: string;
  id?: string;
  sizeBytes?: number;
}

async function inspect(docker: Dockerode, tag: string): Promise<Dockerode.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(tag).inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

export async function imageStatusOf(docker: Dockerode, name: BuiltinImage): Promise<ImageStatus> {
  const r = RECIPES[name];
  const expected = recipeHash(r);
  const info = await inspect(docker, r.tag);
  if (!info) return { name, tag: r.tag, state: 'missing', expected };
  const actual = info.Config?.Labels?.[RECIPE_LABEL];
  return {
    name, tag: r.tag, state: actual === expected ? 'present' : 'outdated', expected, actual,
    id: info.Id, sizeBytes: info.Size,
  };
}

export async function imageStatus(docker: Dockerode): Promise<ImageStatus[]> {
  return Promise.all((Object.keys(BUILTIN_IMAGES) as BuiltinImage[]).map((n) => imageStatusOf(docker, n)));
}

// ------------------------------------------------------------------------------------------ build helpers

class StepError extends Error {
  constructor(readonly step: string, readonly detail: string) { super(`step ${step} failed, ${detail}`); }
}

interface BuildContext {
  recipe: Recipe;
  rootfs: string;
  logFile: string;
  logFd: number;
  log: Log;
}

function logLine(ctx: BuildContext, line: string): void {
  writeSync(ctx.logFd, `${line}\n`);
}

/** Runs a build command with its output appended to the build log (live, so `tail -f` shows progress). */
function runLogged(ctx: BuildContext, step: string, file: string, args: string[], timeoutMs: number): Promise<void> {
  logLine(ctx, `--- step ${step}: ${file} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', ctx.logFd, ctx.logFd], env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' } });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new StepError(step, e.code === 'ENOENT' ? `${file} not found` : e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new StepError(step, signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs / 1000} s` : ''}` : `exit ${code}`));
    });
  });
}

async function step<T>(ctx: BuildContext, name: string, fn: () => T | Promise<T>): Promise<T> {
  logLine(ctx, `--- step ${name}`);
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(name, (e as Error).message);
  }
}

/** True when an ELF file has no PT_INTERP program header (statically linked). */
export function isStaticElf(head: Buffer): boolean {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (o: number): number => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number): number => (le ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > head.length) return false;
    if (u32(off) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

function readHead(file: string, n = 4096): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally { closeSync(fd); }
}

function writeFile(root: string, rel: string, text: string, mode = 0o644): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
}

/** The Debian mirror to debootstrap from: the host's apt source for `suite`, if it has one. */
export function parseAptMirror(files: Array<{ name: string; text: string }>, suite = DEBIAN_SUITE): string | undefined {
  for (const f of files) {
    if (f.name.endsWith('.sources')) {
      for (const stanza of f.text.split(/\n\s*\n/)) {
        const field = (k: string): string[] => {
          const m = stanza.match(new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi'));
          return m ? m[1]!.trim().split(/\s+/) : [];
        };
        if (/^Enabled:\s*no/mi.test(stanza)) continue;
        if (!field('Types').includes('deb') || !field('Suites').includes(suite) || !field('Components').includes('main')) continue;
        const uri = field('URIs').find((u) => /^https?:\/\//.test(u));
        if (uri) return uri.replace(/\/+$/, '');
      }
    } else {
      for (const raw of f.text.split('\n')) {
        const line = raw.replace(/#.*/, '').trim();
        const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/);
        if (m && m[2] === suite && m[3]!.split(/\s+/).includes('main') && /^https?:\/\//.test(m[1]!)) return m[1]!.replace(/\/+$/, '');
      }
    }
  }
  return undefined;
}

export function debianMirror(): string {
  if (process.env.TSUNAGARI_DEBIAN_MIRROR) return process.env.TSUNAGARI_DEBIAN_MIRROR;
  const files: Array<{ name: string; text: string }> = [];
  const read = (p: string): void => { try { files.push({ name: p, text: readFileSync(p, 'utf8') }); } catch { /* absent */ } };
  read('/etc/apt/sources.list');
  try {
    for (const n of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (n.endsWith('.list') || n.endsWith('.sources')) read(join('/etc/apt/sources.list.d', n));
    }
  } catch { /* no directory */ }
  return parseAptMirror(files) ?? DEFAULT_DEBIAN_MIRROR;
}

// ------------------------------------------------------------------------------------------ recipes

async function buildHostRootfs(ctx: BuildContext): Promise<void> {
  const root = ctx.rootfs;
  const busybox = await step(ctx, 'busybox', () => {
    const found = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
    if (!found) throw new Error('/bin/busybox not found (install busybox-static)');
    if (!isStaticElf(readHead(found))) throw new Error(`${found} is not statically linked (install busybox-static, not busybox)`);
    return found;
  });
  const list = await step(ctx, 'applets', async () => {
    const r = await run(busybox, ['--list-full'], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`${busybox} --list-full: exit ${r.code}`);
    return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.includes('/') && !l.startsWith('/') && !l.includes('..'));
  });
  await step(ctx, 'rootfs', () => {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'var/run',
      'var/log', 'var/tmp', 'home']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
    mkdirSync(join(root, 'tmp'), { mode: 0o755 });
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'var/tmp'), 0o1777);
    mkdirSync(join(root, 'root'), { mode: 0o700 });
    writeFileSync(join(root, 'bin/busybox'), readFileSync(busybox));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const applet of list) {
      if (applet === 'bin/busybox') continue;
      const p = join(root, applet);
      mkdirSync(dirname(p), { recursive: true });
      if (!existsSync(p)) symlinkSync('/bin/busybox', p);
    }
    if (!existsSync(join(root, 'bin/sh'))) symlinkSync('/bin/busybox', join(root, 'bin/sh'));
    writeFile(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFile(root, 'etc/group', 'root:x:0:\nnogroup:x:65534:\n');
    writeFile(root, 'etc/shadow', 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o640);
    writeFile(root, INIT_PATH.slice(1), ctx.recipe.init, 0o755);
  });
}

const DPKG_NODOC = `# tsunagari: keep images small (docs, man pages and translations are trimmed)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
`;

async function buildDebianRootfs(ctx: BuildContext): Promise<void> {
  const root = ctx.rootfs;
  const mirror = debianMirror();
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  ctx.log(`… image ${ctx.recipe.tag}: debootstrap ${DEBIAN_SUITE} from ${mirror} (takes 1–2 min; log: ${ctx.logFile})`);
  await runLogged(ctx, 'debootstrap', 'debootstrap', [
    '--variant=minbase', `--include=${ctx.recipe.packages.join(',')}`, '--components=main',
    ...(existsSync(keyring) ? [`--keyring=${keyring}`] : []),
    DEBIAN_SUITE, root, mirror,
  ], 20 * 60_000);
  await step(ctx, 'configure', () => {
    // No service may start by itself: invoke-rc.d asks policy-rc.d (101 = action forbidden).
    writeFile(root, 'usr/sbin/policy-rc.d', '#!/bin/sh\n# tsunagari: services never start on their own in a lab container\nexit 101\n', 0o755);
    for (const d of readdirSync(join(root, 'etc')).filter((n) => /^rc[0-6S]\.d$/.test(n))) {
      for (const l of readdirSync(join(root, 'etc', d)).filter((n) => /^S\d\d/.test(n))) rmSync(join(root, 'etc', d, l), { force: true });
    }
    // Shared ssh host keys would be a security hole: each container generates its own (ssh-keygen -A).
    const sshDir = join(root, 'etc/ssh');
    if (existsSync(sshDir)) {
      for (const k of readdirSync(sshDir).filter((n) => n.startsWith('ssh_host_'))) rmSync(join(sshDir, k), { force: true });
    }
    writeFile(root, 'etc/dpkg/dpkg.cfg.d/tsunagari-nodoc', DPKG_NODOC);
    writeFile(root, 'etc/resolv.conf', '');
    writeFile(root, 'etc/hostname', 'tsunagari\n');
    writeFile(root, INIT_PATH.slice(1), ctx.recipe.init, 0o755);
  });
  await step(ctx, 'trim', async () => {
    const rmContents = (rel: string, keep: (name: string) => boolean = () => false): void => {
      const dir = join(root, rel);
      if (!existsSync(dir)) return;
      for (const n of readdirSync(dir)) if (!keep(n)) rmSync(join(dir, n), { recursive: true, force: true });
    };
    const r = await run('find', [join(root, 'usr/share/doc'), '-xdev', '-depth', '(', '-type', 'f', '-o', '-type', 'l', ')',
      '!', '-name', 'copyright', '-delete'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`find usr/share/doc: ${r.stderr.trim()}`);
    await run('find', [join(root, 'usr/share/doc'), '-xdev', '-mindepth', '1', '-type', 'd', '-empty', '-delete'], { timeoutMs: 60_000 });
    for (const d of ['usr/share/man', 'usr/share/info', 'usr/share/lintian', 'usr/share/linda', 'tmp', 'var/tmp']) rmContents(d);
    rmContents('usr/share/locale', (n) => n === 'locale.alias');
    // Only files: the directories (with their owners, e.g. _apt's partial/, frr's log dir) stay.
    for (const d of ['var/cache/apt', 'var/lib/apt/lists', 'var/log']) {
      if (!existsSync(join(root, d))) continue;
      const f = await run('find', [join(root, d), '-xdev', '(', '-type', 'f', '-o', '-type', 'l', ')', '-delete'], { timeoutMs: 60_000 });
      if (f.code !== 0) throw new Error(`find ${d}: ${f.stderr.trim()}`);
    }
    rmContents('var/cache/debconf', (n) => !n.endsWith('-old'));
  });
}

const BUILDERS: Record<BuiltinImage, (ctx: BuildContext) => Promise<void>> = {
  host: buildHostRootfs,
  debian: buildDebianRootfs,
};

// ------------------------------------------------------------------------------------------ import, cleanup

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
function mountsBelow(dir: string): string[] {
  let text = '';
  try { text = readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return []; }
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m).map(unescape)
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Removes a build directory: unmounts what debootstrap may have left mounted (proc, sys, a bind of /dev) first. */
async function removeBuildDir(dir: string): Promise<void> {
  for (const m of mountsBelow(dir)) {
    if ((await run('umount', [m], { timeoutMs: 30_000 })).code !== 0) await run('umount', ['-l', m], { timeoutMs: 30_000 });
  }
  const left = mountsBelow(dir);
  if (left.length) throw new Error(`cannot remove build directory ${dir} (still mounted: ${left.join(', ')})`);
  const r = await run('rm', ['-rf', '--one-file-system', '--', dir], { timeoutMs: 5 * 60_000 });
  if (r.code !== 0) throw new Error(`cannot remove build directory ${dir}: ${r.stderr.trim()}`);
}

async function importRootfs(docker: Dockerode, ctx: BuildContext): Promise<string> {
  return step(ctx, 'import', async () => {
    if (mountsBelow(ctx.rootfs).length) throw new Error(`rootfs still has mounts: ${mountsBelow(ctx.rootfs).join(', ')}`);
    const [repo, tag] = ctx.recipe.tag.split(':') as [string, string];
    const tar = spawn('tar', ['-C', ctx.rootfs, '--numeric-owner', '--xattrs', '--xattrs-include=security.capability',
      '--one-file-system', '-c', '.'], { stdio: ['ignore', 'pipe', ctx.logFd] });
    const tarDone = new Promise<string | undefined>((resolve) => {
      tar.on('error', (e) => resolve(e.message));
      tar.on('close', (code, signal) => resolve(code === 0 ? undefined : `tar ${signal ?? `exit ${code}`}`));
    });
    if (!tar.stdout) throw new Error('tar has no stdout');
    // `changes` is sent as repeated query parameters (CMD, ENV, LABEL of the import API).
    const opts: {} = { repo, tag, changes: importChanges(ctx.recipe), message: `tsunagari built-in image ${ctx.recipe.name}` };
    let events: Array<Record<string, unknown>>;
    try {
      const stream: NodeJS.ReadableStream = await docker.importImage(tar.stdout, opts);
      events = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null, out: Array<Record<string, unknown>>) => (err ? reject(err) : resolve(out)));
      });
    } catch (e) {
      tar.kill('SIGKILL');
      throw e;
    }
    const tarErr = await tarDone;
    if (tarErr) throw new Error(tarErr);
    const bad = events.find((e) => e.error || e.errorDetail);
    if (bad) throw new Error(`docker import: ${String(bad.error ?? JSON.stringify(bad.errorDetail))}`);
    const info = await inspect(docker, ctx.recipe.tag);
    if (!info) throw new Error(`docker import finished but ${ctx.recipe.tag} does not exist`);
    if (info.Config?.Labels?.[RECIPE_LABEL] !== recipeHash(ctx.recipe)) {
      throw new Error(`imported image lacks label ${RECIPE_LABEL} (engine ignored the LABEL change)`);
    }
    logLine(ctx, `--- imported ${ctx.recipe.tag} as ${info.Id} (${(info.Size / 1e6).toFixed(1)} MB)`);
    return info.Id;
  });
}

function tail(file: string, n = 12): string {
  try { return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n  '); } catch { return '(no log)'; }
}

export interface EnsuredImage { name: BuiltinImage; tag: string; id: string; built: boolean; seconds: number }

async function buildImage(docker: Dockerode, name: BuiltinImage, log: Log, recipe: Recipe = RECIPES[name]): Promise<EnsuredImage> {
  // A recipe under another tag (buildUncached) logs beside the built-in one, never over it.
  const logFile = paths.images.log(recipe.tag === RECIPES[name].tag ? name : `${name}-${recipeHash(recipe).slice(0, 12)}`);
  ensureDirs(paths.images.build);
  // We hold the image's lock: any `<name>-*` build directory is a leftover of a killed build.
  for (const old of readdirSync(paths.images.build).filter((n) => n.startsWith(`${name}-`))) {
    await removeBuildDir(join(paths.images.build, old));
  }
  const t0 = Date.now();
  const logFd = openSync(logFile, 'w');
  const dir = mkdtempSync(join(paths.images.build, `${name}-`));
  const ctx: BuildContext = { recipe, rootfs: join(dir, 'rootfs'), logFile, logFd, log };
  let id: string;
  try {
    writeSync(logFd, `--- tsunagari: building ${recipe.tag} (recipe ${recipeHash(recipe)}) in ${dir} at ${new Date().toISOString()}\n`);
    mkdirSync(ctx.rootfs, { mode: 0o755 });
    await BUILDERS[name](ctx);
    id = await importRootfs(docker, ctx);
  } catch (e) {
    const what = e instanceof StepError ? e.message : `step unknown failed, ${(e as Error).message}`;
    try { writeSync(logFd, `--- FAILED: ${what}\n`); } catch { /* log closed */ }
    throw new Error(`cannot build image ${recipe.tag} (${what}); log: ${logFile}; last lines:\n  ${tail(logFile)}`);
  } finally {
    try {
      await removeBuildDir(dir);
    } finally {
      closeSync(logFd);
    }
  }
  return { name, tag: recipe.tag, id, built: true, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Builds `recipe` whatever is cached (a cold build: the benchmark gives it a throw-away tag and version).
 * Holds the lock of the built-in image of the same name, whose build directories it shares.
 */
export async function buildUncached(docker: Dockerode, recipe: Recipe, log: Log): Promise<EnsuredImage> {
  if (recipe.tag === RECIPES[recipe.name].tag) throw new Error(`cannot build ${recipe.tag} uncached (that tag is the built-in image's; give another tag)`);
  return withLock(paths.images.lock(recipe.name), `build image ${recipe.tag}`, 30 * 60_000, () => buildImage(docker, recipe.name, log, recipe));
}

/**
 * Makes sure the given built-in images exist with their current recipe; builds (and tags) the missing or
 * outdated ones. An image whose `tsunagari.recipe` label matches is reused as is.
 */
export async function ensureImages(docker: Dockerode, which: BuiltinImage[], log: Log): Promise<EnsuredImage[]> {
  const out: EnsuredImage[] = [];
  for (const name of which) {
    const t0 = Date.now();
    const recipe = RECIPES[name];
    if (!recipe) throw new UserError(`cannot build image ${String(name)} (no such built-in image); known: ${Object.keys(BUILTIN_IMAGES).join(', ')}`);
    const st = await imageStatusOf(docker, name);
    if (st.state === 'present') {
      log(`✓ image ${recipe.tag}: up to date (recipe ${st.expected.slice(0, 12)})`);
      out.push({ name, tag: recipe.tag, id: st.id!, built: false, seconds: (Date.now() - t0) / 1000 });
      continue;
    }
    const result = await withLock(paths.images.lock(name), `build image ${recipe.tag}`, 30 * 60_000, async () => {
      const again = await imageStatusOf(docker, name);
      if (again.state === 'present') return { name, tag: recipe.tag, id: again.id!, built: false, seconds: (Date.now() - t0) / 1000 };
      log(`… image ${recipe.tag}: ${again.state === 'missing' ? 'building' : 'rebuilding (recipe changed)'}`);
      const built = await buildImage(docker, name, log);
      if (again.id && again.id !== built.id) {
        // The old image is now untagged; remove it unless a container still uses it.
        try { await docker.getImage(again.id).remove(); } catch { /* in use: leave it */ }
      }
      return built;
    });
    log(result.built
      ? `✓ image ${recipe.tag}: built in ${result.seconds.toFixed(1)} s (recipe ${recipeHash(recipe).slice(0, 12)})`
      : `✓ image ${recipe.tag}: up to date (built by another tsunagari process)`);
    out.push(result);
  }
  return out;
}
