// `node --import tsx scripts/second-machine.ts up|down|env [--purge]`: the stand-in second machine of the
// multi-machine tests (test/support/second-machine.ts; docs/machines.md). `env` prints shell assignments:
//   eval "$(node --import tsx scripts/second-machine.ts env)"; tsunagari up --profile two-machines topologies/two-sites.yaml
import { secondMachineDown, secondMachineEnv, secondMachineTraces, secondMachineUp } from '../test/support/second-machine.js';

const [cmd, ...rest] = process.argv.slice(2);
const log = (l: string): void => { process.stderr.write(`${l}\n`); };

async function main(): Promise<number> {
  switch (cmd) {
    case 'up': {
      const m = await secondMachineUp(log);
      log(`second machine ${m.name} is up: docker ${m.docker} (TLS, certificates in ${m.certsDir}), vtep ${m.vtep}, this machine ${m.localVtep}`);
      return 0;
    }
    case 'down':
      await secondMachineDown(log, { purge: rest.includes('--purge') });
      return 0;
    case 'env':
      for (const [k, v] of Object.entries(secondMachineEnv())) process.stdout.write(`export ${k}=${v}\n`);
      return 0;
    case 'status': {
      const t = await secondMachineTraces();
      process.stdout.write(t.length ? `${t.join('\n')}\n` : 'second machine: nothing running\n');
      return 0;
    }
    default:
      process.stderr.write('usage: scripts/second-machine.ts up | down [--purge] | env | status\n');
      return 2;
  }
}

main().then((c) => process.exit(c), (e: Error) => { process.stderr.write(`${e.message}\n`); process.exit(1); });
