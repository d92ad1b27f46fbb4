// TEST DOUBLE — never used by product code. An SshSession that runs commands in a lab node through the
// lab engine (`running.exec(node, ['sh', '-c', cmd])`, i.e. docker exec / nsenter) instead of SSH, so the
// drivers can be developed and tested against a real FRR before the real SSH transport
// (src/devices/transport.ts) lands. `execSessionFactory` can be told to fail (simulating a lost
// management path); `reachableFrom` makes it fail for real when a management station cannot ping the node.
import type { RunningLab } from '../../src/lab/running.js';
import type { ExecResult, SessionFactory, SshSession } from '../../src/devices/types.js';

export class ExecSessionDouble implements SshSession {
  private closed = false;
  constructor(private readonly running: RunningLab, readonly device: string) {}

  async exec(command: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    if (this.closed) throw new Error(`session to ${this.device} is closed`);
    const r = await this.running.exec(this.device, ['sh', '-c', command], { timeoutMs: opts.timeoutMs ?? 30_000 });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  shell(): Promise<NodeJS.ReadWriteStream & { close?: () => void }> {
    return Promise.reject(new Error('ExecSessionDouble has no interactive shell (test double)'));
  }

  async close(): Promise<void> { this.closed = true; }
}

export interface FactoryDouble {
  factory: SessionFactory;
  opened: number;
  /** While set, every new session fails with this message (the management path is "cut"). */
  failWith?: string;
}

/**
 * Sessions to `node`. With `reachableFrom` (a management station in the same lab), opening a session first
 * pings the node's management address from that station: a config that breaks the management path makes
 * opening fail for real, as an SSH connect would.
 */
export function execSessionFactory(running: RunningLab, node: string, o: { reachableFrom?: { node: string; address: string } } = {}): FactoryDouble {
  const d: FactoryDouble = {
    opened: 0,
    factory: async () => {
      if (d.failWith) throw new Error(d.failWith);
      if (o.reachableFrom) {
        const r = await running.exec(o.reachableFrom.node, ['ping', '-n', '-c', '1', '-W', '1', o.reachableFrom.address], { timeoutMs: 5000 });
        if (r.code !== 0) throw new Error(`connect ${o.reachableFrom.address}: no answer from ${node} (ping from ${o.reachableFrom.node} failed)`);
      }
      d.opened++;
      return new ExecSessionDouble(running, node);
    },
  };
  return d;
}
