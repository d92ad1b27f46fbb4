// Types of fixture.mjs (plain JavaScript so the responder starts without a TypeScript loader).
import type { Packet } from 'dns-packet';

export type RcodeName = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'YXDOMAIN' | 'YXRRSET'
  | 'NXRRSET' | 'NOTAUTH' | 'NOTZONE';

export const RCODES: readonly RcodeName[];
export const RECORD_TYPES: readonly string[];
export const QUERY_TYPES: readonly string[];
export const DEFAULT_TTL: number;
export const MAX_UDP: number;

/** Behaviour of answers: in a rule (from the fixture) or as run-time overrides (control socket). */
export interface Behaviour {
  drop?: boolean;
  delayMs?: number;
  truncate?: boolean;
  rcode?: RcodeName;
  replyFrom?: string;
  zeroChecksum?: boolean;
}

export interface PlanRecord { name: string; type: string; class: 'IN'; ttl: number; data: unknown; }
export interface PlanRule extends Behaviour { name: string; type?: string; }

export interface ResponderPlan {
  zone: string;
  authoritative: boolean;
  tcp: boolean;
  ttl: number;
  soa: PlanRecord & { type: 'SOA'; data: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number } };
  records: PlanRecord[];
  rules: PlanRule[];
}

export interface CompileOptions { addresses?: readonly string[]; node?: string; }

export function compileFixture(text: string, fileName: string, opts?: CompileOptions): { plan?: ResponderPlan; errors: string[] };
export function nameProblem(fqdn: string): string;
export function absName(text: string, zone: string): string;
export function inZone(name: string, zone: string): boolean;
export function canonicalIp(ip: string): string;
export function overridesProblems(r: Record<string, unknown>, ctx: { addresses?: readonly string[]; node?: string }, report: (key: string, message: string) => void): Behaviour;
export function ruleMatches(rule: PlanRule, qname: string, qtype: string): boolean;
export function matchRule(rules: readonly PlanRule[], qname: string, qtype: string): PlanRule | undefined;
export function behaviour(plan: ResponderPlan, qname: string, qtype: string, overrides?: Behaviour): Behaviour & { rule?: string };

export type Reply =
  | { action: 'drop'; behaviour: Behaviour & { rule?: string } }
  | { action: 'reply'; packet: Buffer; rcode: RcodeName; truncated: boolean; delayMs: number; replyFrom?: string; zeroChecksum: boolean; behaviour: Behaviour & { rule?: string } };

export function respond(plan: ResponderPlan, query: Packet, transport: 'udp' | 'tcp', overrides?: Behaviour): Reply;
