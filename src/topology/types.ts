// Owns the *resolved* topology: the plain data every other module consumes. Produced only by
// src/topology/resolve.ts from a validated file; nothing here has side effects or knows about Docker/OVS.
// Names of host-side objects (bridges, ports, namespaces) are decided here once, see naming.ts.

export type RuntimeName = 'docker' | 'netns';

export interface Lab {
  name: string;                 // instance name (naming.ts): the lab name from the file (`name:`), or
                                // `<lab>_<n>` for a test run's own copy (topology/instance.ts); unique per machine while up
  /** The lab name from the file when this is a copy with an instance name of its own (`name` ≠ lab). */
  lab?: string;
  id: string;                   // 6 hex chars derived from the instance name (naming.ts), used in host ifnames
  file: string;                 // absolute path of the topology file ('' when built in memory)
  dir: string;                  // directory used to resolve relative paths (fixtures)
  description?: string;
  nodes: Node[];
  switches: Switch[];
  links: Link[];
  management?: Management;      // present when the lab has managed nodes (kinds with `managed`, e.g. frr)
  /** Set when a profile's inventory was applied (docs/profiles.md); absent = emulated, everything local. */
  profile?: Profile;
  /** Names of the profiles written into the topology file itself (`profiles:`), applied like inventory files. */
  profiles?: string[];
  /** Nodes of the topology that tsunagari does not create: devices reached over SSH (profile inventory). */
  external?: ExternalNode[];
  /** Links of the topology that are physical cables of external devices: not created, controlled through a device. */
  externalLinks?: ExternalLink[];
  /** Other machines (Docker engines) nodes and switches are placed on (profile `machines:`/`placement:`,
   *  docs/machines.md); absent = everything on this machine. */
  machines?: Machine[];
}

/** Another machine nodes and switches can be placed on: its Docker engine and its underlay address
 *  (src/machines/). Paths are absolute (expanded when the profile was read); never secrets. */
export interface Machine {
  name: string;
  /** `tcp://host:port` (with tls) or `ssh://user@host[:port]` (the remote needs `docker system dial-stdio`). */
  docker: string;
  tls?: { ca: string; cert: string; key: string };
  ssh?: MachineSsh;
  /** The machine's underlay address: VXLAN between machines is sent to it. */
  vtep: string;
  /** This machine's address towards it (default: the source address of the route to vtep). */
  localVtep?: string;
  /** How long the engine may take to answer (default by kind: engine.ts PING_TIMEOUT_MS). */
  connectTimeoutMs?: number;
}

/** SSH access to a machine's engine: a host key source and a credential source, as for external devices. */
export interface MachineSsh {
  knownHosts?: string;
  hostKey?: string[];
  privateKeyFile?: string;
  privateKeyEnv?: string;
  passphraseEnv?: string;
  agent?: boolean;
}

export interface Profile {
  name: string;                 // e.g. lab
  file: string;                 // absolute path of the inventory (topologies/<lab>.<profile>.yaml), or of the topology
  inline?: boolean;             // written in the topology's `profiles:` rather than in a file of its own
  description?: string;
}

/** How tsunagari reaches an external device. Secrets are never here: only where to find them. */
export interface DeviceAccess {
  host: string;
  port: number;
  username: string;
  hostKeyFingerprints?: string[];  // SHA256:… (one of them must match)
  knownHostsFile?: string;         // absolute path, or with ${VAR} / ~ expanded when connecting
  privateKeyFile?: string;         // same
  privateKeyEnv?: string;          // environment variable names
  passphraseEnv?: string;
  passwordEnv?: string;
  agent?: boolean;                 // use $SSH_AUTH_SOCK
  connectTimeoutMs?: number;
}

export interface ExternalNode {
  name: string;
  kind: string;                 // kind in the topology (decides the default driver)
  driver: string;               // device driver (src/devices/index.ts)
  access: DeviceAccess;
  interfaces: Interface[];      // as declared in the topology (addresses to reach)
  /** Topology interface name → the device's own name (e.g. eth2 → GigabitEthernet0/2); unnamed = same. */
  ifnames: Record<string, string>;
}

/** A link with at least one external end: a physical cable (`b` absent: the external end meets a
 *  segment that tsunagari joins through an attachment). Steps change it through a device at end `a`. */
export interface ExternalLink {
  type: 'external';
  name: string;
  a: NodeEnd;                   // an external node's end
  b?: NodeEnd;
  segment?: string;             // switch name when the cable plugs into a (stretched) switch
}

/** An existing host NIC added to a switch as an OVS port (profile `attach: {nic: …}`); never created or deleted. */
export interface NicLink {
  type: 'nic';
  name: string;
  switch: string;
  device: string;               // host interface name
  vlan?: PortVlan;
}

/** The lab's management network: an OVS bridge joining every managed node's mgmt0 to a namespace of
 *  its own that holds the gateway address (and from which tsunagari's SSH sessions start). */
export interface Management {
  subnet: string;               // IPv4 prefix, e.g. 172.31.255.0/24
  defaulted: boolean;           // true when tsunagari chose it (no `management:` in the file)
  gateway: string;              // CIDR of the namespace's gw0, e.g. 172.31.255.1/24 (first host)
  netns: string;                // tsunagari-<lab>-mgmt (naming.ts)
  bridge: string;               // t<labid>m
  gatewayIf: string;            // host end of the namespace's veth = OVS port, t<labid>mg
}

/** A managed node's end of the management network. */
export interface NodeManagement {
  iface: string;                // always mgmt0
  address: string;              // CIDR, e.g. 172.31.255.2/24; the only route it brings is its subnet
  hostIf: string;               // host end of the veth = OVS port, t<labid>m<i>
}

export interface Node {
  name: string;
  kind: string;                 // a key of the kind registry (kinds.ts)
  runtime: RuntimeName;
  image?: string;               // docker only; defaulted from the kind
  container: string;            // docker container name (docker runtime)
  netns: string;                // named network namespace (netns runtime)
  interfaces: Interface[];      // in file order; `lo` may appear (extra addresses on loopback)
  routes: Route[];              // default routes from gateway/gateway6 come first
  sysctls: Record<string, string>;
  files: FileCopy[];
  exec: string[];               // shell command lines run in order after links and addresses are up
  env: Record<string, string>;
  capabilities: string[];       // docker CapAdd (from the kind)
  responder?: string;           // kind responder: absolute path of its behaviour fixture (docs/responder.md)
  management?: NodeManagement;  // managed kinds (frr): mgmt0 on the lab's management network
  machine?: string;             // the other machine it runs on (Lab.machines); absent = this machine
}

export interface Interface {
  name: string;                 // name inside the node, <= 15 chars
  addresses: string[];          // CIDR, IPv4 and IPv6
  mtu?: number;
  mac?: string;
  link?: string;                // name of the link that creates this interface (absent for `lo`)
  txChecksumOffload?: boolean;  // false = `ethtool -K tx off` (tests that depend on checksums)
}

export interface Route {
  to: string;                   // 'default' or a CIDR
  via?: string;
  dev?: string;
  family: 4 | 6;
}

export interface FileCopy {
  src: string;                  // absolute host path
  dst: string;                  // absolute path inside the node
  mode: 'copy' | 'mount';
}

export interface Switch {
  name: string;                 // name in the topology
  bridge: string;               // OVS bridge name on the host (naming.ts), <= 15 chars
  ports: Record<string, PortVlan>; // per-port VLAN settings declared under the switch, by port name
  machine?: string;             // the machine holding its bridge (Lab.machines); absent = this machine.
                                // Members on other machines get a bridge of the same name there (stretched).
}

export interface PortVlan {
  vlan?: number;                // access port tag
  trunk?: number[];             // trunk: allowed VLANs
}

/** A node end of a link. */
export interface NodeEnd { node: string; iface: string; }

/** veth between two nodes. */
export interface VethLink {
  type: 'veth';
  name: string;
  a: NodeEnd;
  b: NodeEnd;
}

/** veth between a node and an OVS switch port. */
export interface SwitchLink {
  type: 'switch';
  name: string;
  node: NodeEnd;
  switch: string;               // switch name in the topology
  port: string;                 // port name as written (or defaulted), for status/graph
  hostIf: string;               // host-side veth name = OVS port name (naming.ts)
  vlan?: PortVlan;
}

export type VxlanSide =
  | { kind: 'switch'; switch: string; hostIf: string; local: string; underlayNs?: string; machine?: string }
  | { kind: 'node'; node: string; iface: string; local: string }
  | { kind: 'remote'; address: string };

/** Kernel VXLAN. Two local switches get a private underlay (two namespaces joined by a veth);
 *  node sides create the device inside the node, over the node's own addresses; a remote side is
 *  an address on another machine. */
export interface VxlanLink {
  type: 'vxlan';
  name: string;
  vni: number;
  dstport: number;
  udpChecksum: boolean;
  a: VxlanSide;
  b: VxlanSide;
  underlay?: { veth: [string, string]; prefix: number }; // switch↔switch only: veth names in the underlay namespaces
  stretch?: boolean;            // added by placement: joins the bridges of one switch on two machines
}

export type Link = VethLink | SwitchLink | VxlanLink | NicLink;
