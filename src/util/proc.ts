// Owns process identity: a pid alone is reused by the kernel, a pid with its start time (field 22 of
// /proc/PID/stat, clock ticks since boot) names one process for the whole uptime.
import { readFileSync } from 'node:fs';

export interface ProcId { pid: number; start?: string; }

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined when the pid is gone. */
export function procStart(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch { return undefined; }
}

/** This process. */
export function self(): ProcId {
  return { pid: process.pid, start: procStart(process.pid) };
}

/** Is the process still the one that was recorded (same pid and, when recorded, same start time)? */
export function procAlive(p: ProcId | undefined): boolean {
  if (!p || !Number.isInteger(p.pid) || p.pid <= 0) return false;
  const start = procStart(p.pid);
  if (start === undefined) {
    // No /proc entry readable: fall back to signal 0 (EPERM = exists).
    try { process.kill(p.pid, 0); return p.start === undefined; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' && p.start === undefined; }
  }
  return p.start === undefined || p.start === start;
}
