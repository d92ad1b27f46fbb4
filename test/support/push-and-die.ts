// A tsunagari run that is killed mid-scenario (for test/integration/drivers.test.ts): pushes a config to a
// lab node through the exec test double, prints READY, and waits to be SIGKILLed.
//   pending: commit with a confirm timer and autoConfirm false (the device must revert by itself)
//   pushed:  snapshotAndPush with a ledger record, never undone (rollbackPending must undo it)
// Usage: node --import tsx test/support/push-and-die.ts <pending|pushed> <lab> <node> <driver> <seconds> <config>
import { Context } from '../../src/lab/context.js';
import { openLab } from '../../src/lab/running.js';
import { createDriver } from '../../src/devices/index.js';
import { snapshotAndPush } from '../../src/devices/snapshot.js';
import { execSessionFactory } from './exec-session.js';

const [what, lab, node, driverName, seconds, config] = process.argv.slice(2) as [string, string, string, string, string, string];
const running = openLab(new Context(), lab);
const { factory } = execSessionFactory(running, node);
const d = createDriver(driverName, factory);
await d.open();
if (what === 'pending') {
  await d.loadCandidate(config, 'merge');
  await d.commit({ confirmSeconds: Number(seconds), autoConfirm: false });
} else {
  await snapshotAndPush(d, config, 'merge', factory, { lab, node, confirmSeconds: Number(seconds) });
}
process.stdout.write('READY\n');
setInterval(() => undefined, 1000);
