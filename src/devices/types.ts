// Owns the device-driver contract (shaped like NAPALM's): what tsunagari can ask of a router it manages
// over SSH, and the SSH session a driver talks through. Drivers (frr.ts, linux.ts, …) implement Driver;
// transports (lab routers via the management network, external devices) implement SshSession.
// Capabilities are explicit: a step needing one a driver lacks fails saying so.

/** One command's result over an SSH exec channel. */
export interface ExecResult { code: number; stdout: string; stderr: string; }

/** An open SSH connection to one device (host key already verified). */
export interface SshSession {
  readonly device: string;                 // node or device name, for messages
  exec(command: string, opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** An interactive shell (PTY) for CLI-style devices; the shell machinery (shell.ts) drives it. */
  shell(opts?: { cols?: number; rows?: number }): Promise<NodeJS.ReadWriteStream & { close?: () => void }>;
  close(): Promise<void>;
}

/** Opens a fresh session to the same device (used to prove management still works after a commit). */
export type SessionFactory = () => Promise<SshSession>;

export type Capability =
  | 'facts' | 'config' | 'routes' | 'ospf' | 'bgp' | 'bfd'
  | 'load-replace' | 'load-merge' | 'compare' | 'commit' | 'commit-confirm' | 'rollback'
  | 'interfaces' | 'ping' | 'exec';

/** What a ping from the device saw. */
export interface PingResult { sent: number; received: number; output: string; }

export interface Facts { hostname: string; vendor: string; model: string; os: string; version: string; uptimeSeconds?: number; interfaces: string[]; }

export interface Route {
  prefix: string;            // CIDR
  protocol: string;          // connected, static, ospf, bgp, kernel …
  nexthops: Array<{ via?: string; dev?: string }>;
  selected: boolean;
}

export interface Neighbour {
  protocol: 'ospf' | 'bgp' | 'bfd';
  address: string;           // neighbour address (OSPF: interface address of the neighbour; BGP: peer)
  id?: string;               // router id (OSPF) / remote AS (BGP, as text)
  state: string;             // OSPF: Full/…, BGP: Established/…, BFD: up/down
  iface?: string;
}

export interface CommitOptions {
  /** Commit-confirm: revert automatically unless confirm() comes within this many seconds. */
  confirmSeconds?: number;
  message?: string;
  /**
   * (Added with the drivers.) With a confirm timer: true (default) = the driver proves management through a
   * NEW session (SessionFactory) and confirms itself, or waits for the device's revert and throws
   * CommitReverted; false = the commit is left pending for the caller's confirm() (NAPALM style).
   */
  autoConfirm?: boolean;
}

export interface Driver {
  readonly name: string;                    // 'frr', 'linux', …
  readonly capabilities: ReadonlySet<Capability>;
  open(): Promise<void>;
  close(): Promise<void>;
  facts(): Promise<Facts>;
  runningConfig(): Promise<string>;
  routes(): Promise<Route[]>;
  neighbours(protocol: Neighbour['protocol']): Promise<Neighbour[]>;
  /** Stage a candidate: the whole config (replace) or lines added to the running one (merge). */
  loadCandidate(config: string, mode: 'replace' | 'merge'): Promise<void>;
  /** Unified diff running → candidate ('' when equal). */
  compare(): Promise<string>;
  commit(opts?: CommitOptions): Promise<void>;
  /** Confirms a commit-confirm; fails if none is pending. */
  confirm(): Promise<void>;
  /** Back to the config before the last commit (or the pending commit-confirm). */
  rollback(): Promise<void>;
  discardCandidate(): Promise<void>;

  // ---- operations on the device (physical-lab profiles: the device IS the lab) ----------------
  /** Administrative state of an interface (`interfaces`). */
  setInterfaceUp?(iface: string, up: boolean): Promise<void>;
  /** Is the interface administratively up? (`interfaces`) */
  interfaceUp?(iface: string): Promise<boolean>;
  /** Silently drops everything arriving on the interface (and, with egress, leaving it) without a carrier change (`interfaces`). */
  blockInterface?(iface: string, on: boolean, o?: { egress?: boolean }): Promise<void>;
  /** Pings from the device (`ping`); bounded by count and timeout. */
  ping?(address: string, o: { count: number; timeoutMs: number }): Promise<PingResult>;
  /** Runs a shell command on the device (`exec`). */
  exec?(command: string, o?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Thrown when a step needs a capability the driver lacks. */
export class MissingCapability extends Error {
  constructor(readonly driver: string, readonly capability: Capability) {
    super(`driver ${driver} cannot ${capability}`);
    this.name = 'MissingCapability';
  }
}
