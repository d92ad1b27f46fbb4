// Owns the small interface every node runtime implements (docker, netns). Links, probes and steps
// only use NodeHandle: a way into the node's network namespace and a way to run commands in the node.
// Must not know about links, switches or topology files.
import type { Node, RuntimeName } from '../topology/types.js';
import type { Owner } from '../lab/labels.js';
import type { RunOptions, RunResult } from '../util/exec.js';

/** What a running node offers to the rest of tsunagari. Serialisable (kept in the ledger). */
export interface NodeHandle {
  node: string;
  runtime: RuntimeName;
  /** `ip link … netns <nsRef>`: a pid (docker) or a named netns (netns). */
  nsRef: string;
  /** File whose network namespace is the node's: /proc/PID/ns/net or /run/netns/NAME. */
  netnsPath: string;
  /** Process whose mount/pid namespaces are the node's (docker), for commands needing its filesystem. */
  pid?: number;
  containerId?: string;
  /** The other machine the node runs on (docs/machines.md); absent = this machine. Then pid, nsRef and
   *  netnsPath are that machine's: never usable here (netnsPath is `machine:<name>:…` so nothing opens it). */
  machine?: string;
}

export interface DiscoveredNode extends Owner {
  runtime: RuntimeName;
  ref: string;                   // container id or netns name
  name: string;                  // container name or netns name
  node?: string;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** Creates and starts the node with no network but loopback; files copied in before start. */
  create(node: Node, owner: Owner): Promise<NodeHandle>;
  /** argv prefix that runs a command inside the node (used by exec, and by the CLI with a terminal). */
  commandPrefix(h: NodeHandle): string[];
  /** Runs argv inside the node: its filesystem (docker) and its network namespace. */
  exec(h: NodeHandle, argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** Removes by discovery record; absent is success. */
  remove(d: { ref: string }): Promise<void>;
  /** Every node of this runtime carrying a tsunagari label (optionally of one lab). */
  discover(lab?: string): Promise<DiscoveredNode[]>;
}

export const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
