// Owns the semantic rules of docs/topology.md that relate values to each other (names, endpoints,
// addresses, gateways, VLAN/VXLAN combinations, file sources): schema-valid raw data in, every problem out.
// Must not resolve, throw for user mistakes, or touch anything but the injected `exists` check.
import * as path from 'node:path';
import { knownList } from '../util/errors.js';
import { KINDS, kindsForRuntime } from './kinds.js';
import {
  broadcastOf, familyName, formatIp, formatNetwork, hostBitsSet, inSubnet, ipKey, networkOf, parseCidr, parseIp, specialAddress,
  type Cidr,
} from './address.js';
import {
  asList, fileCandidates, findFileSrc, labPrefixes, linkName, managedNodes, nodeRuntime, parseEndpoint,
  type Endpoint,
} from './resolve.js';
import {
  MANAGEMENT_IFACE, MANAGEMENT_POOL, MANAGEMENT_PREFIX, MANAGEMENT_RESERVED_NODE, defaultManagementSubnet, overlaps, usableHosts,
} from './management.js';
import type { RawLink, RawTopology } from './schema.js';

export type YamlPath = (string | number)[];

/** One user mistake: where it is (YAML path; `key` = point at the key, not its value), what, and why. */
export interface Problem {
  path: YamlPath;
  key?: boolean;
  object: string;
  message: string;
}

export interface ValidateContext {
  dir: string;                          // absolute directory the topology's relative paths start from
  displayDir?: string;                  // the same directory as the user wrote it (for messages)
  exists: (absPath: string) => boolean;
  /** What a path really is (symlinks followed): its real path and kind; absent = no confinement checks. */
  inspect?: (absPath: string) => { real: string; kind: 'file' | 'dir' | 'socket' | 'device' | 'other' } | undefined;
  /** Folders files may come from (real paths): the topology's repository, or its folder and the one above. */
  projectRoots?: string[];
  /** Does /proc/sys/<path> exist on this machine? Absent = sysctl names are not checked against the kernel. */
  sysctlExists?: (path: string) => boolean;
}

/** Sysctls a container may set besides net.* (IPC namespace); a netns node holds only net.*. */
const IPC_SYSCTL = /^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\.)/;

/** Why a node cannot set this sysctl ('' = fine). Names are written with dots (net.ipv4.ip_forward). */
function sysctlProblem(key: string, runtime: string, ctx: ValidateContext): string {
  const k = key.replace(/\//g, '.');
  if (!k.startsWith('net.') && !(runtime === 'docker' && IPC_SYSCTL.test(k))) {
    return `${key} is not per node: only net.* sysctls belong to a node's network namespace${runtime === 'docker' ? ' (and kernel.msg*/sem/shm*, fs.mqueue.* to a container\'s IPC namespace)' : ''}; it would change the whole machine; hint: set it on the machine, or leave it out`;
  }
  // Interface-specific keys exist on the machine under conf.all / neigh.default: check the family exists.
  const m = /^net\.(ipv4|ipv6|core)\.(.+)$/.exec(k);
  if (!m || !ctx.sysctlExists) return '';
  const rest = m[2]!.replace(/^(conf|neigh)\.[^.]+\./, (_x, g: string) => `${g}.${g === 'conf' ? 'all' : 'default'}.`);
  return ctx.sysctlExists(`net/${m[1]}/${rest.replace(/\./g, '/')}`) ? '' : `unknown sysctl ${key} (this kernel has no /proc/sys/net/${m[1]}/${rest.replace(/\./g, '/')}); hint: check the spelling (\`sysctl -a\` lists what this kernel has)`;
}

/** Why a file a topology names may not be used ('' = fine): outside the project, or a socket/device to mount. */
function hostFileProblem(abs: string, ctx: ValidateContext, o: { allowOutside: boolean; mount: boolean }): string {
  const info = ctx.inspect?.(abs);
  if (!info) return '';
  if (o.mount && (info.kind === 'socket' || info.kind === 'device')) {
    return `is a ${info.kind === 'socket' ? 'socket' : 'device'} (${info.real}): mounting sockets and devices into a node is refused`;
  }
  if (o.allowOutside || !ctx.projectRoots?.length) return '';
  const inside = ctx.projectRoots.some((r) => info.real === r || info.real.startsWith(r.endsWith('/') ? r : `${r}/`));
  return inside ? '' : `is outside the project (it is ${info.real}; a topology's files come from ${ctx.projectRoots.length === 1 ? 'the git repository holding it' : 'its folder and the folder above'})`;
}

interface Addr { text: string; cidr: Cidr; owner: string; iface: string; }

const VXLAN_ONLY = ['vni', 'dstport', 'udp_checksum', 'underlay', 'remote', 'local'] as const;

export function validateTopology(raw: RawTopology, ctx: ValidateContext): Problem[] {
  const problems: Problem[] = [];
  const add = (p: YamlPath, object: string, message: string, key = false): void => {
    problems.push(key ? { path: p, key, object, message } : { path: p, object, message });
  };

  const nodeNames = Object.keys(raw.nodes);
  const switches = raw.switches ?? {};
  const switchNames = Object.keys(switches);
  const nodeSet = new Set(nodeNames);
  const switchSet = new Set(switchNames);
  const links = raw.links ?? [];

  for (const s of switchNames) {
    if (nodeSet.has(s)) add(['switches', s], `switch ${s}`, `name is also used by node ${s}; node and switch names must differ`, true);
  }

  // ---- nodes -----------------------------------------------------------------------------------
  const addrSeen = new Map<string, string>();  // ipKey → "node x, interface y"
  const macSeen = new Map<string, string>();
  const nodeAddrs = new Map<string, Addr[]>();

  for (const name of nodeNames) {
    const n = raw.nodes[name]!;
    const obj = `node ${name}`;
    const at = (...rest: YamlPath): YamlPath => ['nodes', name, ...rest];
    const kind = KINDS[n.kind]!;
    const runtime = nodeRuntime(raw, name);

    if (!kind.runtimes.includes(runtime)) {
      const can = `runtime ${runtime} runs only kinds: ${knownList(kindsForRuntime(runtime))}`;
      if (n.runtime !== undefined) add(at('runtime'), obj, `kind ${kind.name} cannot use runtime ${runtime}; ${can}`);
      else add(at('kind'), obj, `kind ${kind.name} cannot use runtime ${runtime}, the lab's default; ${can}; hint: add runtime: ${kind.runtimes[0]} to node ${name}`);
    }
    if (runtime === 'netns') {
      if (n.image !== undefined) add(at('image'), obj, 'image needs runtime docker (a netns node is a bare network namespace, no filesystem)', true);
      if (n.files !== undefined && n.files.length > 0) add(at('files'), obj, 'files need runtime docker (a netns node is a bare network namespace, no filesystem)', true);
    }

    // sysctls: only what a node's own namespaces hold, and (for net.ipv4/ipv6/core) names this kernel knows
    for (const key of Object.keys(n.sysctls ?? {})) {
      const why = sysctlProblem(key, runtime, ctx);
      if (why) add(at('sysctls', key), `${obj}, sysctl ${key}`, why, true);
    }

    // interfaces: addresses, MACs
    const addrs: Addr[] = [];
    for (const [ifName, ifc] of Object.entries(n.interfaces ?? {})) {
      const iobj = `${obj}, interface ${ifName}`;
      for (const fam of [4, 6] as const) {
        const field = fam === 4 ? 'ipv4' : 'ipv6';
        const value = ifc?.[field];
        asList(value).forEach((text, j) => {
          const p = Array.isArray(value) ? at('interfaces', ifName, field, j) : at('interfaces', ifName, field);
          const c = parseCidr(text)!;
          const special = specialAddress(c, ifName === 'lo');
          if (special) add(p, iobj, `address ${text} is ${special}; it cannot work as an interface address; hint: use a unicast address of the lab's own subnets`);
          if (fam === 6 && ifc?.mtu !== undefined && ifc.mtu < 1280) {
            add(p, iobj, `address ${text} needs IPv6, which needs an MTU of at least 1280 (this interface has mtu ${ifc.mtu}); hint: raise mtu: to 1280 or more, or drop the IPv6 address`);
          }
          if (!special && fam === 4 && c.prefix <= 30) {
            if (c.value === networkOf(c)) add(p, iobj, `address ${text} is the network address of its subnet; hint: use a host address such as ${hostExample(c)}`);
            else if (c.value === broadcastOf(c)) add(p, iobj, `address ${text} is the broadcast address of its subnet`);
          }
          const k = ipKey(c);
          const prev = addrSeen.get(k);
          if (prev === iobj) add(p, iobj, `address ${text} is listed twice`);
          else if (prev !== undefined) add(p, iobj, `address ${text} is already used by ${prev}`);
          else addrSeen.set(k, iobj);
          addrs.push({ text, cidr: c, owner: iobj, iface: ifName });
        });
      }
      if (ifc?.mac !== undefined) {
        const mac = ifc.mac.toLowerCase();
        const p = at('interfaces', ifName, 'mac');
        if (mac === '00:00:00:00:00:00') add(p, iobj, `mac ${ifc.mac} is the all-zero address; hint: use a unicast one such as 02:00:00:00:00:01`);
        else if (parseInt(mac.slice(0, 2), 16) & 1) add(p, iobj, `mac ${ifc.mac} is a multicast address; hint: use a unicast one such as 02:00:00:00:00:01`);
        else if (macSeen.has(mac)) add(p, iobj, `mac ${ifc.mac} is already used by ${macSeen.get(mac)}`);
        else macSeen.set(mac, iobj);
      }
    }
    nodeAddrs.set(name, addrs);

    // gateways and routes
    const dests = new Map<string, string>(); // family + destination → what defined it
    const checkNextHop = (field: string, text: string, p: YamlPath, o: string, dev?: string): void => {
      const ip = parseIp(text)!;
      const own = addrs.find((a) => a.cidr.family === ip.family && a.cidr.value === ip.value);
      if (own) { add(p, o, `${field} ${text} is this node's own address (interface ${own.iface})`); return; }
      const pool = dev === undefined ? addrs : addrs.filter((a) => a.iface === dev);
      const home = pool.find((a) => inSubnet(ip, a.cidr));
      if (home) {
        if (ip.family === 4 && home.cidr.prefix <= 30 && (ip.value === networkOf(home.cidr) || ip.value === broadcastOf(home.cidr))) {
          add(p, o, `${field} ${text} is the ${ip.value === networkOf(home.cidr) ? 'network' : 'broadcast'} address of ${formatNetwork(home.cidr)} (interface ${home.iface}), not a host; hint: use the router's address in that subnet`);
        }
        return;
      }
      const fam = familyName(ip.family);
      const subnets = pool.filter((a) => a.cidr.family === ip.family).map((a) => `${a.iface}: ${formatNetwork(a.cidr)}`);
      const where = dev === undefined ? 'any subnet of this node' : `a subnet of interface ${dev}`;
      const list = subnets.length ? subnets.join(', ') : `it has no ${fam} address`;
      add(p, o, `${field} ${text} is not inside ${where} (${list})`);
    };
    if (n.gateway !== undefined) { checkNextHop('gateway', n.gateway, at('gateway'), obj); dests.set('4 default', 'gateway'); }
    if (n.gateway6 !== undefined) { checkNextHop('gateway6', n.gateway6, at('gateway6'), obj); dests.set('6 default', 'gateway6'); }
    const ifNames = Object.keys(n.interfaces ?? {});
    (n.routes ?? []).forEach((r, k) => {
      const robj = `${obj}, route #${k + 1}`;
      const rp = (...rest: YamlPath): YamlPath => at('routes', k, ...rest);
      const to = parseCidr(r.to)!;
      if (hostBitsSet(to)) add(rp('to'), robj, `to ${r.to} has host bits set; hint: did you mean ${formatNetwork(to)}?`);
      if (r.via === undefined && r.dev === undefined) add(rp(), robj, 'needs via, dev or both');
      let devOk = true;
      if (r.dev !== undefined && !ifNames.includes(r.dev)) {
        devOk = false;
        add(rp('dev'), robj, `dev ${r.dev} is not an interface of node ${name}; known: ${knownList(ifNames)}`);
      }
      if (r.via !== undefined) {
        const via = parseIp(r.via)!;
        if (via.family !== to.family) add(rp('via'), robj, `via ${r.via} is ${familyName(via.family)} but to ${r.to} is ${familyName(to.family)}`);
        else checkNextHop('via', r.via, rp('via'), robj, devOk ? r.dev : undefined);
      }
      const dest = `${to.family} ${to.prefix === 0 ? 'default' : formatNetwork(to)}`;
      const prev = dests.get(dest);
      if (prev !== undefined) add(rp('to'), robj, `a route to ${r.to} is already defined by ${prev}`);
      else dests.set(dest, `route #${k + 1}`);
    });

    // responder fixture (its contents are checked by load.ts, with positions in the fixture file)
    if (kind.name === 'responder' && n.responder === undefined) {
      add(at('kind'), obj, "kind responder needs responder: <fixture file> (docs/responder.md); hint: responder: fixtures/dns/edge.yaml");
    } else if (kind.name !== 'responder' && n.responder !== undefined) {
      add(at('responder'), obj, `responder applies only to kind responder (this node is kind ${kind.name})`, true);
    } else if (n.responder !== undefined && findFileSrc(n.responder, ctx.dir, ctx.exists) === undefined) {
      const shown = fileCandidates(n.responder, ctx.dir).map((c) => displayPath(c, ctx));
      add(at('responder'), obj, `responder fixture ${n.responder} not found (looked for ${shown.length === 1 ? shown[0] : `${shown[0]} or ${shown[1]}`})`);
    } else if (n.responder !== undefined) {
      const why = hostFileProblem(findFileSrc(n.responder, ctx.dir, ctx.exists)!, ctx, { allowOutside: raw.allow_host_files === true, mount: false });
      if (why) add(at('responder'), obj, `responder fixture ${n.responder} ${why}; hint: keep fixtures in the project, or set allow_host_files: true at the top of the topology`);
    }

    // files
    const dsts = new Map<string, number>();
    (n.files ?? []).forEach((f, k) => {
      const fobj = `${obj}, file #${k + 1}`;
      const found = findFileSrc(f.src, ctx.dir, ctx.exists);
      if (found === undefined) {
        const shown = fileCandidates(f.src, ctx.dir).map((c) => displayPath(c, ctx));
        const where = shown.length === 1 ? `${shown[0]}` : `${shown[0]} or ${shown[1]}`;
        add(at('files', k, 'src'), fobj, `src ${f.src} not found (looked for ${where})`);
      } else {
        const why = hostFileProblem(found, ctx, { allowOutside: raw.allow_host_files === true, mount: f.mode === 'mount' });
        if (why) {
          add(at('files', k, 'src'), fobj, `src ${f.src} ${why}; hint: ${/socket|device/.test(why) ? 'copy a file instead (mode: copy), or leave it out'
            : 'keep files in the project (e.g. fixtures/), or set allow_host_files: true at the top of the topology if the host file is meant'}`);
        }
      }
      const prev = dsts.get(f.dst);
      if (prev !== undefined) add(at('files', k, 'dst'), fobj, `dst ${f.dst} is already used by file #${prev + 1}`);
      else dsts.set(f.dst, k);
    });
  }

  // ---- switches --------------------------------------------------------------------------------
  for (const s of switchNames) {
    for (const [p, v] of Object.entries(switches[s]?.ports ?? {})) {
      checkVlan(v, ['switches', s, 'ports', p], `switch ${s}, port ${p}`, add);
    }
  }

  // ---- links -----------------------------------------------------------------------------------
  const names = new Map<string, number>();
  const tunnels = new Map<string, string>();  // remote VTEP + vni + dstport → link name
  const ifaceUse = new Map<string, string>();  // `node:iface` → link name
  const portUse = new Map<string, string>();   // `switch:port` → link name

  links.forEach((l, i) => {
    const name = linkName(l);
    const obj = `link ${name}`;
    const at = (...rest: YamlPath): YamlPath => ['links', i, ...rest];
    const first = names.get(name);
    if (first !== undefined) {
      add(l.name !== undefined ? at('name') : at(), obj, `name is already used by link #${first + 1}; hint: give it a unique name`);
    } else names.set(name, i);

    const eps = l.endpoints.map((t) => parseEndpoint(t, nodeSet, switchSet));
    let endpointsOk = true;
    const bad = (j: number, message: string): void => { endpointsOk = false; add(at('endpoints', j), obj, message); };
    eps.forEach((ep, j) => {
      const where = `endpoint ${ep.text}`;
      if (ep.kind === 'unknown') {
        bad(j, `${where}: no node or switch named '${ep.name}'; known nodes: ${knownList(nodeNames)}; known switches: ${knownList(switchNames)}`);
      } else if (ep.kind === 'node') {
        const declared = Object.keys(raw.nodes[ep.node]!.interfaces ?? {}).filter((x) => x !== 'lo');
        if (ep.iface === undefined || ep.iface === '') {
          bad(j, `${where} names node ${ep.node} but no interface; hint: write ${ep.node}:${declared[0] ?? 'eth1'}`);
        } else if (ep.iface === 'lo') {
          bad(j, `${where}: lo cannot be a link endpoint (it needs no link)`);
        } else if (!declared.includes(ep.iface)) {
          bad(j, `${where}: node ${ep.node} has no interface ${ep.iface}; known: ${knownList(declared)}; hint: declare it under nodes.${ep.node}.interfaces`);
        } else {
          const key = `${ep.node}:${ep.iface}`;
          const prev = ifaceUse.get(key);
          if (prev !== undefined) bad(j, `${where}: interface ${ep.iface} of node ${ep.node} is already used by link ${prev}`);
          else ifaceUse.set(key, name);
        }
      } else if (ep.port !== undefined) {
        if (l.type === 'vxlan') {
          bad(j, `${where}: a VXLAN link takes the switch without a port; hint: write ${ep.switch}`);
        } else if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ep.port)) {
          bad(j, `${where}: invalid port name '${ep.port}'; use 1..15 letters, digits, '_', '.' or '-'`);
        } else {
          const key = `${ep.switch}:${ep.port}`;
          const prev = portUse.get(key);
          if (prev !== undefined) bad(j, `${where}: port ${ep.port} of switch ${ep.switch} is already used by link ${prev}`);
          else portUse.set(key, name);
        }
      }
    });

    if (l.type === 'vxlan') {
      validateVxlan(raw, l, i, eps, endpointsOk, obj, at, add);
      // Two tunnels to one remote VTEP on one VNI and port are one tunnel: the kernel refuses the second.
      if (l.remote !== undefined && l.vni !== undefined) {
        const key = `${ipKey(parseIp(l.remote)!)} ${l.vni} ${l.dstport ?? 4789}`;
        const prev = tunnels.get(key);
        if (prev !== undefined) add(at('vni'), obj, `vni ${l.vni} to remote ${l.remote} on UDP port ${l.dstport ?? 4789} is already used by link ${prev}; hint: give one of them another vni (or dstport)`);
        else tunnels.set(key, name);
      }
    }
    else validateVeth(raw, l, eps, endpointsOk, obj, at, add);
  });

  // every declared interface (except lo) is used by exactly one link; declared ports are used
  for (const name of nodeNames) {
    for (const ifName of Object.keys(raw.nodes[name]!.interfaces ?? {})) {
      if (ifName === 'lo' || ifName === MANAGEMENT_IFACE || ifaceUse.has(`${name}:${ifName}`)) continue;
      add(['nodes', name, 'interfaces', ifName], `node ${name}, interface ${ifName}`,
        `declared but not used by any link; hint: add a link with endpoint ${name}:${ifName}, or remove the interface`, true);
    }
  }
  for (const s of switchNames) {
    for (const p of Object.keys(switches[s]?.ports ?? {})) {
      if (portUse.has(`${s}:${p}`)) continue;
      add(['switches', s, 'ports', p], `switch ${s}, port ${p}`, `declared but not used by any link; hint: add a link with endpoint ${s}:${p}, or remove the port`, true);
    }
  }
  validateManagement(raw, add);
  return problems;
}

/** mgmt0 is tsunagari's; `management:` needs managed nodes, room for them and no overlap with the lab. */
function validateManagement(raw: RawTopology, add: Add): void {
  const managed = managedNodes(raw);
  for (const [name, n] of Object.entries(raw.nodes)) {
    if (Object.hasOwn(n.interfaces ?? {}, MANAGEMENT_IFACE)) {
      add(['nodes', name, 'interfaces', MANAGEMENT_IFACE], `node ${name}, interface ${MANAGEMENT_IFACE}`,
        `${MANAGEMENT_IFACE} is reserved for the management network (tsunagari adds it to managed nodes); hint: use another name such as eth9`, true);
    }
  }
  if (managed.length && Object.hasOwn(raw.nodes, MANAGEMENT_RESERVED_NODE)) {
    add(['nodes', MANAGEMENT_RESERVED_NODE], `node ${MANAGEMENT_RESERVED_NODE}`,
      `name ${MANAGEMENT_RESERVED_NODE} is reserved in a lab with managed nodes (tsunagari-${raw.name}._${MANAGEMENT_RESERVED_NODE} is its management namespace); hint: rename the node`, true);
  }
  const own = labPrefixes(raw);
  const m = raw.management;
  if (m === undefined || m === null || m.subnet === undefined) {
    if (!managed.length) return;
    try {
      defaultManagementSubnet(raw.name, own.map((p) => p.cidr));
    } catch {
      add(m === undefined ? [] : ['management'], 'management', `no /${MANAGEMENT_PREFIX} of ${MANAGEMENT_POOL} is free of the lab's own addresses and routes; hint: set management: { subnet: … } to a free prefix`);
    }
    return;
  }
  if (!managed.length) {
    add(['management'], 'management', `no node is managed (managed kinds: ${knownList(Object.values(KINDS).filter((k) => k.managed).map((k) => k.name))}); hint: remove management:`, true);
    return;
  }
  const at: YamlPath = ['management', 'subnet'];
  const c = parseCidr(m.subnet)!;
  if (hostBitsSet(c)) { add(at, 'management', `subnet ${m.subnet} has host bits set; hint: did you mean ${formatNetwork(c)}?`); return; }
  const room = usableHosts(c);
  if (room < BigInt(managed.length + 1)) {
    add(at, 'management', `subnet ${m.subnet} has room for ${room} addresses; the gateway and ${managed.length} managed nodes (${knownList(managed)}) need ${managed.length + 1}`);
  }
  const clash = own.filter((p) => overlaps(p.cidr, c));
  if (clash.length) {
    const shown = clash.slice(0, 3).map((p) => `${p.owner} ${p.text}`).join(', ');
    add(at, 'management', `subnet ${m.subnet} overlaps the lab's own addresses: ${shown}${clash.length > 3 ? ` and ${clash.length - 3} more` : ''}; hint: pick a prefix the lab does not use, or leave subnet: out`);
  }
}

type Add = (p: YamlPath, object: string, message: string, key?: boolean) => void;

function checkVlan(v: { vlan?: number | undefined; trunk?: number[] | undefined } | null | undefined, p: YamlPath, obj: string, add: Add): void {
  if (!v) return;
  if (v.vlan !== undefined && v.trunk !== undefined) add([...p, 'trunk'], obj, 'vlan and trunk are exclusive; use one of them', true);
  const seen = new Set<number>();
  (v.trunk ?? []).forEach((t, j) => {
    if (seen.has(t)) add([...p, 'trunk', j], obj, `trunk lists vlan ${t} twice`);
    seen.add(t);
  });
}

function validateVeth(raw: RawTopology, l: RawLink, eps: Endpoint[], endpointsOk: boolean, obj: string, at: (...r: YamlPath) => YamlPath, add: Add): void {
  for (const k of VXLAN_ONLY) if (l[k] !== undefined) add(at(k), obj, `${k} applies only to type: vxlan links`, true);
  if (eps.length !== 2) {
    add(at('endpoints'), obj, 'a veth link needs exactly two endpoints; hint: to reach another machine use type: vxlan with remote:');
    return;
  }
  if (!endpointsOk) return;
  const [a, b] = eps as [Endpoint, Endpoint];
  if (a.kind === 'switch' && b.kind === 'switch') {
    add(at('endpoints'), obj, `a veth link cannot join two switches (${a.switch}, ${b.switch}); hint: use type: vxlan`);
    return;
  }
  if (a.kind === 'node' && b.kind === 'node') {
    for (const k of ['vlan', 'trunk'] as const) {
      if (l[k] !== undefined) add(at(k), obj, `${k} applies only to a link between a node and a switch`, true);
    }
    return;
  }
  checkVlan(l, at(), obj, add);
  const sw = (a.kind === 'switch' ? a : b) as Extract<Endpoint, { kind: 'switch' }>;
  if (sw.port === undefined) return;
  const declared = raw.switches?.[sw.switch]?.ports?.[sw.port];
  const declaredVlan = declared && (declared.vlan !== undefined || declared.trunk !== undefined);
  for (const k of ['vlan', 'trunk'] as const) {
    if (l[k] !== undefined && declaredVlan) {
      add(at(k), obj, `${k} conflicts with the VLAN settings of switch ${sw.switch}, port ${sw.port}; set them in one place`, true);
    }
  }
}

function validateVxlan(raw: RawTopology, l: RawLink, i: number, eps: Endpoint[], endpointsOk: boolean, obj: string, at: (...r: YamlPath) => YamlPath, add: Add): void {
  if (l.vni === undefined) add(at(), obj, "missing required key 'vni' (type: vxlan needs a vni, 1..16777215)");
  for (const k of ['vlan', 'trunk'] as const) {
    if (l[k] !== undefined) add(at(k), obj, `${k} applies only to a link between a node and a switch`, true);
  }
  if (!endpointsOk) return;
  const kinds = eps.map((e) => e.kind).join('+');
  const oneSwitchOnly = (k: 'remote' | 'local', why: string): void => {
    if (l[k] !== undefined) add(at(k), obj, `${k} is only for a VXLAN with one switch endpoint; ${why}`, true);
  };

  if (kinds === 'switch+switch') {
    const [a, b] = eps as [Extract<Endpoint, { kind: 'switch' }>, Extract<Endpoint, { kind: 'switch' }>];
    if (a.switch === b.switch) add(at('endpoints'), obj, `both endpoints are switch ${a.switch}; a VXLAN joins two different switches`);
    oneSwitchOnly('remote', 'this link joins two switches of this lab');
    oneSwitchOnly('local', 'this link joins two switches of this lab');
    if (l.underlay !== undefined) {
      const c = typeof l.underlay === 'string' ? parseCidr(l.underlay) : null;
      if (typeof l.underlay !== 'string') add(at('underlay'), obj, 'underlay of a VXLAN between two switches is an IPv4 prefix such as 169.254.77.0/30');
      else if (!c || c.family !== 4 || c.prefix > 30) add(at('underlay'), obj, `underlay ${l.underlay} must be an IPv4 prefix of length 30 or shorter, such as 169.254.77.0/30`);
      else if (hostBitsSet(c)) add(at('underlay'), obj, `underlay ${l.underlay} has host bits set; hint: did you mean ${formatNetwork(c)}?`);
    } else if (i > 255) {
      add(at(), obj, `no default underlay for link #${i + 1} (169.254.<i>.0/30 needs i < 256); hint: set underlay:`);
    }
    return;
  }
  if (kinds === 'switch') {
    if (l.remote === undefined) add(at(), obj, "missing required key 'remote' (a VXLAN with one switch goes to another machine's address)");
    if (l.underlay !== undefined) add(at('underlay'), obj, 'underlay applies only to a VXLAN between two switches or two node interfaces', true);
    if (l.remote !== undefined && l.local !== undefined) {
      const r = parseIp(l.remote)!; const lo = parseIp(l.local)!;
      if (r.family !== lo.family) add(at('local'), obj, `local ${l.local} is ${familyName(lo.family)} but remote ${l.remote} is ${familyName(r.family)}`);
    }
    return;
  }
  if (kinds === 'node+node') {
    oneSwitchOnly('remote', 'this link joins two node interfaces');
    oneSwitchOnly('local', 'this link joins two node interfaces (the VTEPs come from underlay:)');
    const [a, b] = eps as [Extract<Endpoint, { kind: 'node' }>, Extract<Endpoint, { kind: 'node' }>];
    const example = `[${a.node}:eth1, ${b.node}:eth1]`;
    if (l.underlay === undefined) {
      add(at(), obj, `missing required key 'underlay' (a VXLAN between nodes needs the interfaces that carry it, e.g. ${example})`);
      return;
    }
    if (!Array.isArray(l.underlay) || l.underlay.length !== 2) {
      add(at('underlay'), obj, `underlay of a VXLAN between nodes is a list of two node interfaces, e.g. ${example}`);
      return;
    }
    [a, b].forEach((ep, j) => {
      const u = (l.underlay as string[])[j]!;
      const p = at('underlay', j);
      const colon = u.indexOf(':');
      const node = colon < 0 ? u : u.slice(0, colon);
      const iface = colon < 0 ? '' : u.slice(colon + 1);
      if (node !== ep.node || iface === '') { add(p, obj, `underlay ${u} must be an interface of node ${ep.node} (endpoint #${j + 1}), e.g. ${ep.node}:eth1`); return; }
      const ifs = raw.nodes[node]!.interfaces ?? {};
      if (!Object.hasOwn(ifs, iface)) { add(p, obj, `underlay ${u}: node ${node} has no interface ${iface}; known: ${knownList(Object.keys(ifs))}`); return; }
      if (iface === ep.iface) { add(p, obj, `underlay ${u} is the VXLAN interface itself; name the interface that carries the tunnel`); return; }
      if (asList(ifs[iface]?.ipv4).length === 0) add(p, obj, `underlay ${u}: interface ${iface} of node ${node} has no IPv4 address for the tunnel`);
    });
    return;
  }
  add(at('endpoints'), obj, 'a VXLAN link joins two switches of this lab, one switch and a remote address, or two node interfaces');
}

function hostExample(c: Cidr): string {
  return `${formatIp(c.family, networkOf(c) + 1n)}/${c.prefix}`;
}

function displayPath(abs: string, ctx: ValidateContext): string {
  if (ctx.displayDir === undefined || path.resolve(ctx.displayDir) !== path.resolve(ctx.dir)) return abs;
  return path.join(ctx.displayDir, path.relative(ctx.dir, abs));
}
