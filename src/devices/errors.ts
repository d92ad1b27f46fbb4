// Owns the typed errors of the device drivers: what a step or a test can catch and act on when a device
// refuses a command, a commit is reverted, a confirm comes too late or a capability is missing. Messages
// follow STYLE.md (`cannot <verb> <object> (<reason>); hint: …`) and never carry credentials.
// Must not talk to devices; MissingCapability (types.ts, the contract) and HostKeyRefused (hostkey.ts, the
// transport) live with their owners and are re-exported here so callers find every device error in one place.
import { UserError } from '../util/errors.js';

export { MissingCapability } from './types.js';

/** How a message names a device: `device r1 (192.0.2.1)` (external devices' labels already say it), else `device <name>`. */
export function deviceName(device: string): string {
  return device.startsWith('device ') ? device : `device ${device}`;
}

/** Base of every device error: names the device. No stack in reports (a UserError is its message). */
export class DeviceError extends UserError {
  constructor(readonly device: string, message: string, hint?: string) {
    super(message, hint);
    this.name = 'DeviceError';
  }
}

/** The device refused a command or a configuration; `deviceMessage` is its own words ("% Invalid input …"). */
export class CommandRejected extends DeviceError {
  constructor(device: string, readonly command: string, readonly deviceMessage: string, hint?: string) {
    super(device, `${deviceName(device)} rejected \`${clip(command, 120)}\`: ${clip(deviceMessage.trim() || '(no message)', 600)}`, hint);
    this.name = 'CommandRejected';
  }
}

/** No prompt / no answer within the bound. `lastOutput` is the tail of what the device said. */
export class CommandTimeout extends DeviceError {
  constructor(device: string, readonly command: string, readonly timeoutMs: number, readonly lastOutput: string, hint?: string) {
    super(device, `${deviceName(device)}: no answer to \`${clip(command, 120)}\` within ${fmtMs(timeoutMs)}` +
      (lastOutput.trim() ? ` (last output: ${JSON.stringify(clip(lastOutput.trim(), 200))})` : ' (no output)'), hint);
    this.name = 'CommandTimeout';
  }
}

/**
 * A commit was undone because it was not confirmed: the management session was lost after it (or a check
 * failed), and the device's own revert timer put the previous config back. `reverted` says whether the
 * revert was seen (the device answered again and reported it); `afterMs` is the time from commit to revert.
 */
export class CommitReverted extends DeviceError {
  constructor(device: string, readonly reason: string, readonly reverted: boolean, readonly afterMs: number | undefined, detail = '') {
    super(device, reverted
      ? `commit on ${device} was reverted (${reason}); the device reverted to the previous config after ${fmtMs(afterMs ?? 0)}${detail ? `; ${detail}` : ''}`
      : `commit on ${device} was not confirmed (${reason}); the device did not answer again${detail ? `; ${detail}` : ''}`,
    reverted ? undefined : 'its revert timer runs on the device itself: it puts the previous config back even if tsunagari cannot reach it');
    this.name = 'CommitReverted';
  }
}

/** confirm() came after the device's revert timer had fired: the commit is gone. */
export class ConfirmTimeout extends DeviceError {
  constructor(device: string, readonly confirmSeconds: number, readonly state: string) {
    super(device, `cannot confirm the commit on ${device} (its ${confirmSeconds} s revert timer already fired: ${state.trim() || 'reverting'})`,
      'confirm sooner, or commit with a longer confirmSeconds');
    this.name = 'ConfirmTimeout';
  }
}

/** A rollback ran but the running config differs from the snapshot it should have restored. */
export class RollbackMismatch extends DeviceError {
  constructor(device: string, readonly diff: string) {
    super(device, `rollback on ${device} did not restore the snapshot exactly; difference (snapshot → now):\n${clip(diff, 4000)}`);
    this.name = 'RollbackMismatch';
  }
}

/** An operation that needs state the driver does not have (no candidate, no pending commit, …). */
export class DriverStateError extends DeviceError {
  constructor(device: string, message: string, hint?: string) {
    super(device, message, hint);
    this.name = 'DriverStateError';
  }
}

/**
 * A host key the pinning policy refuses is the transport's error (hostkey.ts: HostKeyRefused, thrown before
 * the session is used); HostKeyMismatch is the same class under the name the driver docs use.
 */
export { HostKeyRefused, HostKeyRefused as HostKeyMismatch } from './hostkey.js';

export function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s` : `${Math.round(ms)} ms`;
}
