// Owns the HTTP GET probe from inside a node's namespace (runner.mjs): status, headers and the first
// bytes of the body. https does not verify certificates (lab use); the answer carries `insecure: true`.
// Must not follow redirects, send bodies or resolve names (URLs must carry an IP address).
import { runProbe } from './runner-client.js';
import { ipLiteralFamily } from './ping.js';
import { UserError } from '../util/errors.js';

export interface HttpResult {
  status?: number;
  /** Time until the response headers arrived, in ms. */
  ms: number;
  /** 'refused' | 'timeout' | 'unreachable' | 'reset' | another socket error code. */
  error?: string;
  headers?: Record<string, string | string[]>;
  /** Up to 512 bytes of the body, as UTF-8. */
  bodyStart?: string;
  /** https only: the server certificate was not verified. */
  insecure?: boolean;
}

export async function httpGet(nsPath: string, url: string, timeoutMs = 5000, headers?: Record<string, string>): Promise<HttpResult> {
  let u: URL;
  try { u = new URL(url); } catch { throw new UserError(`cannot get ${url} (not a URL)`, 'write e.g. http://10.0.1.20:8080/'); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError(`cannot get ${url} (only http: and https: are supported)`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!ipLiteralFamily(host)) throw new UserError(`cannot get ${url} (host ${u.hostname} is not an IP address)`, 'resolve lab names with resolveTarget');
  return runProbe<HttpResult>(nsPath, { op: 'http', url, timeoutMs, ...(headers ? { headers } : {}) });
}
