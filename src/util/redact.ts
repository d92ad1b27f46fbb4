// Owns keeping secret values out of what tsunagari writes for people: reports (attachments, failure
// messages), logs. Secrets are registered as they become known — SSH passwords and passphrases read from
// the environment (devices/transport.ts Secret), node `env:` values whose names say they are secret — and
// every occurrence of a registered value is shown as `***`.

const secrets = new Set<string>();

/** Names of variables whose values are secrets (`env:` of nodes, `password_env` …). */
export const SECRET_NAME = /pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|credential/i;

/** Registers a secret value (too short a value — under 4 characters — would redact ordinary text: ignored). */
export function addSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 4) secrets.add(value);
}

/** Registers the values of a variable map whose names look secret. */
export function addSecretEnv(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) if (SECRET_NAME.test(k)) addSecret(v);
}

/** The text with every registered secret value replaced by `***` (longest first). */
export function redact(text: string): string {
  if (!secrets.size || !text) return text;
  let out = text;
  for (const v of [...secrets].sort((a, b) => b.length - a.length)) if (out.includes(v)) out = out.split(v).join('***');
  return out;
}

/** The same error, its message and stack redacted (Cucumber prints both into every report). */
export function redactError<E>(e: E): E {
  if (e instanceof Error) {
    try {
      e.message = redact(e.message);
      if (e.stack) e.stack = redact(e.stack);
    } catch { /* a frozen error stays as it is */ }
  }
  return e;
}
