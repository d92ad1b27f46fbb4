// Owns the ownership labels every created resource carries (Docker labels, OVS external_ids, ifalias),
// and parsing them back during discovery. Cleanup trusts these labels, never name patterns.
// Must not create or delete anything.
import { randomBytes } from 'node:crypto';

export interface Owner { lab: string; run: string; }

export const DOCKER_LABEL = { lab: 'tsunagari.lab', run: 'tsunagari.run', node: 'tsunagari.node', kind: 'tsunagari.kind', machine: 'tsunagari.machine' } as const;
export const OVS_KEY = { lab: 'tsunagari-lab', run: 'tsunagari-run', name: 'tsunagari-name' } as const;
const ALIAS_PREFIX = 'tsunagari ';

/** TSUNAGARI_SESSION: a tag for every run id of one session (e.g. one CI job), so its leftovers can be
 *  checked apart from other sessions' on a shared machine (`cleanup --check --session <tag>`). */
export const SESSION_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const s = process.env.TSUNAGARI_SESSION;
  const id = `${t}-${randomBytes(3).toString('hex')}`;
  return s && SESSION_RE.test(s) ? `${s}.${id}` : id;
}

/** Is this run id of session `s`? */
export function inSession(run: string | undefined, s: string): boolean {
  return !!run && run.startsWith(`${s}.`);
}

/** ifalias text for host interfaces and for `lo` of namespaces we create: `tsunagari lab=x run=y what=z`. */
export function aliasFor(owner: Owner, what: string): string {
  return `${ALIAS_PREFIX}lab=${owner.lab} run=${owner.run} what=${what}`;
}

export function parseAlias(alias: string | undefined | null): (Owner & { what: string }) | undefined {
  if (!alias || !alias.startsWith(ALIAS_PREFIX)) return undefined;
  const m = /^tsunagari lab=(\S+) run=(\S+) what=(\S*)$/.exec(alias);
  return m ? { lab: m[1] as string, run: m[2] as string, what: m[3] as string } : undefined;
}
