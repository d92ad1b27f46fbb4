// Owns the error types tsunagari shows to users. A UserError is a mistake the user can fix (bad topology,
// unknown name, missing privilege): the CLI prints its one-line message and hint, never a stack trace.
// Everything else is a bug or an environment failure and keeps its stack.

/** Message format: `cannot <verb> <object> (<reason>); known: a, b; hint: …` (see STYLE.md). */
export class UserError extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(hint ? `${message}; hint: ${hint}` : message);
    this.name = 'UserError';
    this.hint = hint;
    // A user mistake is fully described by its message: reports (Cucumber prints `stack`) show no trace.
    this.stack = this.message;
  }
}

/** Several user errors found at once (validation reports all problems, not just the first). */
export class UserErrors extends UserError {
  readonly errors: string[];
  constructor(errors: string[]) {
    super(errors.join('\n'));
    this.name = 'UserErrors';
    this.errors = errors;
    this.stack = this.message;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** "known: a, b, c" list, capped so a huge lab does not flood the terminal. */
export function knownList(names: Iterable<string>, max = 12): string {
  const all = [...names];
  const shown = all.slice(0, max).join(', ');
  return all.length > max ? `${shown}, … (${all.length} in all)` : shown || '(none)';
}
