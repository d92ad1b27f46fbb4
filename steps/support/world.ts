// The World: one per scenario, holding its Scenario (lab, undo stack, last output). The lab pool is
// shared by the whole run (labs come up once). Steps reach src/ only through `this.s`.
import { World, setWorldConstructor, type IWorldOptions } from '@cucumber/cucumber';
import { LabPool } from '../../src/scenario/pool.js';
import { Scenario } from '../../src/scenario/session.js';
import { redact } from '../../src/util/redact.js';

let pool: LabPool | undefined;

/** The run's lab pool, created on first use, rooted at the project the run started in. Its profile:
 *  the world parameter `profile` (cucumber.js profiles), else $TSUNAGARI_PROFILE, else emulated. */
export function labPool(profile?: string): LabPool {
  pool ??= new LabPool({ projectDir: process.cwd(), log: (l) => process.stderr.write(`${redact(l)}\n`), ...(profile ? { profile } : {}) });
  return pool;
}

export class TsunagariWorld extends World {
  readonly s: Scenario;
  constructor(options: IWorldOptions) {
    super(options);
    // Images must reach the report base64-encoded (a Buffer), or the HTML report cannot show them.
    const profile = (options.parameters as { profile?: unknown } | undefined)?.profile;
    // Text never carries a secret value (src/util/redact.ts): evidence, diffs and pictures are redacted.
    this.s = new Scenario(labPool(typeof profile === 'string' ? profile : undefined), (data, mediaType) =>
      (typeof data !== 'string' ? this.attach(data, mediaType)
        : mediaType.startsWith('image/') ? this.attach(Buffer.from(redact(data), 'utf8'), mediaType) : this.attach(redact(data), mediaType)));
  }
}

setWorldConstructor(TsunagariWorld);
