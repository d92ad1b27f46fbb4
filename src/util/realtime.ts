// Owns asking for real-time scheduling for the few programs whose timing is the measurement (outage
// meter, timed outage): `chrt -f N` in front of their argv when this machine allows it, nothing otherwise.
// Must not change the priority of anything else; those programs sleep between packets, they never spin.
import { run } from './exec.js';

let allowed: Promise<boolean> | undefined;

/** Is SCHED_FIFO allowed here (root, no cgroup without an RT budget)? Asked once per process. */
export function realtimeAllowed(): Promise<boolean> {
  allowed ??= run('chrt', ['-f', '1', 'true'], { timeoutMs: 5000 }).then((r) => r.code === 0, () => false);
  return allowed;
}

/** `['chrt', '-f', priority]` when allowed, else []: put it before a program's argv. */
export async function realtimePrefix(priority: number): Promise<string[]> {
  return (await realtimeAllowed()) ? ['chrt', '-f', String(priority)] : [];
}
