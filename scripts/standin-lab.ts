// The stand-in "physical lab" (test/support/standin-lab.ts) from the command line, as root:
//   node --import tsx scripts/standin-lab.ts up       build it (removing a previous one), print the env lines
//   node --import tsx scripts/standin-lab.ts down     remove it (idempotent)
//   node --import tsx scripts/standin-lab.ts status   what exists, and whether SSH and OSPF answer
//   node --import tsx scripts/standin-lab.ts env      `export TSUNAGARI_LAB_KEY=…` / `export TSUNAGARI_LAB_KNOWN_HOSTS=…`
// Progress goes to stderr, so `eval "$(node --import tsx scripts/standin-lab.ts up)"` works.
// STANDIN_DEBUG=1: what readiness still waits for, every poll, and stack traces of unexpected errors.
import { standinDown, standinInfo, standinStatus, standinUp } from '../test/support/standin-lab.js';
import { isUserError } from '../src/util/errors.js';

const log = (s: string): void => { process.stderr.write(`${s}\n`); };

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      let interrupted = false;
      const stop = (): void => { if (!interrupted) { interrupted = true; log('interrupted: removing the stand-in lab'); } };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const info = await standinUp({ log });
      if (interrupted) { await standinDown({ log }); return 130; }
      for (const [r, x] of Object.entries(info.routers)) {
        log(`  ${r}: ssh root@${x.mgmtAddress} (${x.hostKeyFingerprint ?? '?'}), LAN ${x.lan.subnet} on VNI ${x.lan.vni}`);
      }
      log(`  VXLAN: remote ${info.vxlan.remote}, local ${info.vxlan.local}, dstport ${info.vxlan.dstport}; underlay ${info.underlay.hostIf} MTU ${info.underlay.mtu}`);
      process.stdout.write(info.env.join('\n') + '\n');
      return 0;
    }
    case 'down': {
      const t0 = Date.now();
      await standinDown({ log });
      log(`stand-in lab down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'status': {
      const s = await standinStatus();
      if (!s.present.length) { process.stdout.write('stand-in lab: nothing present\n'); return 0; }
      process.stdout.write(s.present.map((l) => `present: ${l}\n`).join(''));
      process.stdout.write(s.problems.length ? s.problems.map((l) => `problem: ${l}\n`).join('') : 'SSH answers on both routers, OSPF Full on both paths\n');
      return s.problems.length ? 1 : 0;
    }
    case 'env':
      process.stdout.write(standinInfo().env.join('\n') + '\n');
      return 0;
    default:
      log('usage: node --import tsx scripts/standin-lab.ts up|down|status|env');
      return 2;
  }
}

main(process.argv[2]).then((code) => process.exit(code), (e: unknown) => {
  log(`✗ ${isUserError(e) || !process.env.STANDIN_DEBUG ? (e as Error).message : (e as Error).stack ?? String(e)}`);
  process.exit(1);
});
