// Run and scenario lifecycle: the lab named by a @lab:<name> (or @ラボ:<name>) tag comes up before the
// scenario; after it, every change the scenario made is undone in reverse order, pass or fail; at the
// end of the run (or on Ctrl-C/SIGTERM) every lab this run brought up is torn down.
import { After, AfterAll, Before, BeforeAll, setDefaultTimeout } from '@cucumber/cucumber';
import { labPool, type TsunagariWorld } from './world.js';

// Labs take seconds to come up and a first bring-up may wait for the Docker engine: not Cucumber's 5 s.
setDefaultTimeout(180_000);

const LAB_TAG = /^@(?:lab|ラボ):(.+)$/;

BeforeAll(function () {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${sig}: tearing down the labs of this run (again to quit at once)\n`);
    labPool().teardownAll({ stop: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
});

Before(async function (this: TsunagariWorld, { pickle }) {
  const tag = pickle.tags.map((t) => LAB_TAG.exec(t.name)).find((m) => m);
  if (tag) await this.s.useLab(tag[1] as string);
});

After(async function (this: TsunagariWorld) {
  await this.s.finish();
});

AfterAll(async function () {
  const failures = await labPool().teardownAll();
  if (failures.length) throw new Error(`could not tear down:\n  ${failures.join('\n  ')}`);
});
