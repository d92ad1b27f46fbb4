// A tsunagari run on the lab profile that is killed mid-scenario (for test/integration/external-devices.test.ts):
// brings the lab up with profile lab (external devices over SSH), takes a device cable down through the
// Scenario, pushes lines to a device, prints READY and waits to be SIGKILLed. What it changed on the devices
// stays changed; only the records under <state>/devices/<lab>/ say how to put it back.
// Needs TSUNAGARI_LAB_KEY / TSUNAGARI_LAB_KNOWN_HOSTS in its environment (the inventory names them).
// Usage: node --import tsx test/support/lab-push-and-die.ts <lab> <link> <node> <config lines>
import { LabPool } from '../../src/scenario/pool.js';
import { Scenario } from '../../src/scenario/session.js';

const [lab, link, node, config] = process.argv.slice(2) as [string, string, string, string];
const pool = new LabPool({ projectDir: process.cwd(), profile: 'lab', log: (l) => process.stderr.write(`${l}\n`) });
const s = new Scenario(pool, () => undefined);
await s.useLab(lab);
await s.linkDown(s.link(link));
await s.routers.pushLines(node, config);
process.stdout.write('READY\n');
setInterval(() => undefined, 1000);
