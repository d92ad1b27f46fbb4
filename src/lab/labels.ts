// Owns the ownership labels every created resource carries (Docker labels, OVS external_ids, ifalias),
// and parsing them back during discovery. Cleanup trusts these labels, never name patterns.
// Must not create or delete anything.
import { randomBytes } from 'node:crypto';

export interface Owner { lab: string; run: string; }

export const DOCKER_LABEL = { lab: 'tsunagari.lab', run: 'tsunagari.run', node: 'tsunagari.node', kind: 'tsunagari.kind', machine: 'tsunagari.machine' } as const;
export const OVS_KEY = { lab: 'tsunagari-lab', run: 'tsunagari-run', name: 'tsunagari-name' } as const;
const ALIAS_PREFIX = 'tsunagari ';

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${t}-${randomBytes(3).toString('hex')}`;
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
