// Owns the per-scenario undo stack: every change a scenario makes to a lab pushes its inverse, and
// after the scenario (pass or fail) the inverses run in reverse order. A failing inverse does not stop
// the others; all failures are reported together.

export interface UndoEntry { what: string; fn: () => Promise<void>; }

export class UndoStack {
  private entries: UndoEntry[] = [];

  push(what: string, fn: () => Promise<void>): void {
    this.entries.push({ what, fn });
  }

  get size(): number { return this.entries.length; }

  /** Runs every inverse, last first; returns the failures ("what: message"). */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    while (this.entries.length) {
      const e = this.entries.pop() as UndoEntry;
      try { await e.fn(); } catch (err) { failures.push(`${e.what}: ${(err as Error).message}`); }
    }
    return failures;
  }
}
