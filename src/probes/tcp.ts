// Owns the TCP connect probe: one connection attempt from inside a node's namespace (runner.mjs),
// reported as ok / refused / timeout / unreachable with the time it took.
// Must not send data or keep connections open; never resolves names.
import { runProbe } from './runner-client.js';
import { ipLiteralFamily } from './ping.js';
import { UserError } from '../util/errors.js';

export interface TcpResult {
  ok: boolean;
  /** Time until connected or failed, in ms (measured inside the namespace, without process start). */
  ms: number;
  /** 'refused' | 'timeout' | 'unreachable' | 'reset' | another socket error code. */
  error?: string;
  /** Local address:port of the connection (when ok). */
  local?: string;
}

export async function tcpConnect(nsPath: string, host: string, port: number, timeoutMs = 3000): Promise<TcpResult> {
  if (!ipLiteralFamily(host)) throw new UserError(`cannot connect to ${host}:${port} (not an IP address)`, 'resolve lab names with resolveTarget');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`cannot connect to ${host}:${port} (port is not 1..65535)`);
  return runProbe<TcpResult>(nsPath, { op: 'tcp', host, port, timeoutMs });
}
