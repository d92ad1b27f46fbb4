// Owns starting runner.mjs inside a node's network namespace and reading its one JSON line; the path is
// resolved next to this module (import.meta.url), so it also works from node_modules.
// Must not interpret probe answers (tcp.ts, http.ts do) or run anything but the runner.
import { fileURLToPath } from 'node:url';
import { run } from '../util/exec.js';

export const RUNNER_PATH = fileURLToPath(new URL('./runner.mjs', import.meta.url));

/** Node's start-up plus nsenter, on a busy 2-core machine: the margin above the probe's own timeout. */
const START_MARGIN_MS = 5000;

/**
 * Runs one probe request; rejects only when the runner itself could not run or answer. `budgetMs` is
 * the longest the probe itself may take (default its timeoutMs; more when it makes several exchanges).
 */
export async function runProbe<T>(nsPath: string, request: { op: string; timeoutMs: number } & Record<string, unknown>,
  budgetMs = request.timeoutMs): Promise<T> {
  const r = await run('nsenter', [`--net=${nsPath}`, process.execPath, RUNNER_PATH, JSON.stringify(request)],
    { timeoutMs: budgetMs + START_MARGIN_MS });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let answer: (T & { error?: string }) | undefined;
  try { answer = JSON.parse(line) as T & { error?: string }; } catch { /* reported below */ }
  if (!answer || r.code !== 0) {
    const why = answer?.error ?? (r.stderr.trim().split('\n').pop() || `exit ${r.code}`);
    throw new Error(`cannot run ${request.op} probe in ${nsPath} (${why})`);
  }
  return answer;
}
