// Owns metric 5 (outage measurement accuracy: a link dropped for exactly T ms, measured outage vs T).
// It needs the outage meter of src/probes/outage.ts (startOutageMeter, injectOutage), which another change
// is building. Until it lands this metric is skipped with a message — TODO in bench/README.md.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from '../src/lab/context.js';
import type { Row } from './lib.js';

const METER = fileURLToPath(new URL('../src/probes/outage.ts', import.meta.url));

export async function outageMetric(_ctx: Context, _quick: boolean, _log: (l: string) => void): Promise<{ rows: Row[] } | { skip: string }> {
  if (!existsSync(METER)) {
    return { skip: 'TODO: src/probes/outage.ts (startOutageMeter, injectOutage) has not landed yet; see bench/README.md' };
  }
  const mod = await import(METER) as Record<string, unknown>;
  const missing = ['startOutageMeter', 'injectOutage'].filter((f) => typeof mod[f] !== 'function');
  if (missing.length) return { skip: `TODO: src/probes/outage.ts lacks ${missing.join(', ')}; see bench/README.md` };
  return { skip: 'TODO: the outage meter has landed but the bench does not drive it yet (T = 100, 500, 2000 ms); see bench/README.md' };
}
