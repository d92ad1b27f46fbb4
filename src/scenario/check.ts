// Owns the error a failed check throws: its message (with evidence) is the whole story, so reports
// show it without a stack trace. Distinct from UserError: the lab, not the user, is at fault.

/** A check that did not hold. Its message is the whole story; no stack trace in reports. */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
    this.stack = message;
  }
}
