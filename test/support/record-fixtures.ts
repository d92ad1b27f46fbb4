// Records a driver contract case from a live lab node: every command the driver runs for its getters
// (and, given a candidate, for loadCandidate + compare) goes to fixtures/devices/<driver>/<case>/, and
// what the driver made of it to expected.json — REVIEW expected.json by hand before committing it.
// Managed nodes (kind frr, management network) are recorded over real SSH (labSessionFactory); others
// through the exec test double. Usage:
//   node --import tsx test/support/record-fixtures.ts <lab> <node> <driver> <case> [<candidate file> <replace|merge>]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '../../src/lab/context.js';
import { openLab } from '../../src/lab/running.js';
import { createDriver, type DriverName } from '../../src/devices/index.js';
import { CommandRejected } from '../../src/devices/errors.js';
import type { Driver, Neighbour } from '../../src/devices/types.js';
import { labSessionFactory } from '../../src/devices/transport.js';
import { ExecSessionDouble } from './exec-session.js';
import { RecordingSession } from './recorded.js';

const [lab, node, driverName, kase, candFile, mode] = process.argv.slice(2);
if (!lab || !node || !driverName || !kase) {
  console.error('usage: record-fixtures.ts <lab> <node> <driver> <case> [<candidate file> <replace|merge>]');
  process.exit(2);
}
const dir = join('fixtures/devices', driverName, kase);
const running = openLab(new Context(), lab);
const inner = running.node(node).management ? labSessionFactory(running, node) : async () => new ExecSessionDouble(running, node);
const driver: Driver = createDriver(driverName as DriverName, async () => new RecordingSession(await inner(), dir));
await driver.open();
const expected: Record<string, unknown> = {};
const caps = driver.capabilities;
if (caps.has('facts')) expected.facts = await driver.facts();
if (caps.has('config')) expected.runningConfig = await driver.runningConfig();
if (caps.has('routes')) expected.routes = await driver.routes();
const neighbours: Record<string, Neighbour[]> = {};
for (const p of ['ospf', 'bgp', 'bfd'] as const) if (caps.has(p)) neighbours[p] = await driver.neighbours(p);
if (Object.keys(neighbours).length) expected.neighbours = neighbours;
writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
if (candFile && (mode === 'replace' || mode === 'merge')) {
  const cand = readFileSync(candFile, 'utf8');
  writeFileSync(join(dir, 'candidate.txt'), cand);
  try {
    await driver.loadCandidate(cand, mode);
    const diff = await driver.compare();
    await driver.discardCandidate();
    writeFileSync(join(dir, 'compare.json'), `${JSON.stringify({ mode }, null, 2)}\n`);
    writeFileSync(join(dir, 'compare.diff'), diff);
  } catch (e) {
    if (!(e instanceof CommandRejected)) throw e;
    // a refused candidate: the contract expects CommandRejected carrying the device's words
    writeFileSync(join(dir, 'compare.json'), `${JSON.stringify({ mode, rejected: e.deviceMessage }, null, 2)}\n`);
  }
}
await driver.close();
console.log(`recorded ${dir}`);
