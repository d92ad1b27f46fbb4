// Owns putting a lab instance back after a run that used it died: the journal's open entries (link
// down, loss, rate, delay, cuts, the broken-NAT rule, responder overrides; journal.ts) are undone newest
// first, then router configs pushed and not rolled back (devices/snapshot.ts). Used by a run that reuses
// a kept lab and by `tsunagari cleanup`, both holding the instance's lease. Must not create or remove
// lab resources.
import type { RunningLab } from './running.js';
import { runInverse } from './impair.js';
import { restoreResponder } from './dnsfaults.js';
import { pendingRollbacks, rollbackPending } from '../devices/snapshot.js';
import { nodeSessionFactory } from '../devices/transport.js';

export interface Recovery {
  /** What was undone, one line each. */
  undone: string[];
  /** What could not be undone ("what: why"): the lab's state is then unknown. */
  failed: string[];
}

/** Undoes what a dead run left in the lab. The caller holds the lab's lease. */
export async function recoverLab(running: RunningLab): Promise<Recovery> {
  const out: Recovery = { undone: [], failed: [] };
  let entries;
  try {
    entries = running.journal.entries();
  } catch (e) {
    out.failed.push((e as Error).message);
    return out;
  }
  for (const e of [...entries].reverse()) {
    try {
      if (e.inverse.kind === 'responder') await restoreResponder(running, e.inverse);
      else await runInverse(running, e.inverse);
      running.journal.forget(e.id);
      out.undone.push(`${e.what} (run ${e.run || '?'}, ${e.at}): undone`);
    } catch (err) {
      out.failed.push(`${e.what} (run ${e.run || '?'}): ${(err as Error).message}`);
    }
  }
  if (pendingRollbacks(running.name).length) {
    for (const r of await rollbackPending(running, (n) => nodeSessionFactory(running, n))) {
      (r.ok ? out.undone : out.failed).push(`${r.node}: ${r.message}`);
    }
  }
  return out;
}
