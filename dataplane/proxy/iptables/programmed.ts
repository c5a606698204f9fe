/**
 * What the proxier believes the kernel holds: the rules of every service port it programmed, the
 * tail of nat KUBE-SERVICES, and running totals for the metrics (rules, endpoints, Local policies
 * without a local endpoint). A partial sync diffs against it (which service ports changed, whether
 * any dispatch chain did, which chains to delete) instead of reading the kernel. It is trusted
 * only after a successful full sync; a failed restore leaves the kernel in a state nobody wrote
 * down, so the next sync is full.
 */
import type { DispatchPart } from './dispatch-rules.ts';
import type { ServicePortRules } from './service-rules.ts';

export class ProgrammedRules {
  /** The kernel holds exactly what this says (false before the first full sync and after a failure). */
  trusted = false;
  /** Large-cluster mode of what is programmed (comments or not on per-endpoint rules). */
  largeCluster = false;
  /** The last rules of nat KUBE-SERVICES (jumps to KUBE-NODEPORTS). */
  tail: readonly string[] = [];
  /** How many service ports the framework knew at the last write (programmed or not). */
  servicesSize = 0;
  private readonly ports = new Map<string, ServicePortRules>();
  private readonly byService = new Map<string, Set<string>>();
  private sorted: string[] | undefined;
  private endpointTotal = 0;
  private natTotal = 0;
  private filterTotal = 0;
  private noLocalInternal = 0;
  private noLocalExternal = 0;

  get(key: string): ServicePortRules | undefined {
    return this.ports.get(key);
  }

  /** Service port keys programmed for a Service (`ns/name`). */
  keysOf(service: string): ReadonlySet<string> {
    return this.byService.get(service) ?? new Set();
  }

  /** Every programmed service port key, sorted (the order rules are written in). */
  sortedKeys(): readonly string[] {
    this.sorted ??= [...this.ports.keys()].sort();
    return this.sorted;
  }

  /** Every chain any service port owns. */
  *chains(): Iterable<string> {
    for (const r of this.ports.values()) yield* r.chains;
  }

  /** Lines of one dispatch chain part of every service port, in key order. */
  linesOf(
    part: DispatchPart,
    keys: readonly string[],
    override?: ReadonlyMap<string, ServicePortRules>,
  ): string[] {
    const out: string[] = [];
    for (const key of keys) {
      const r = override?.get(key) ?? this.ports.get(key);
      if (r) for (const line of r.dispatch[part]) out.push(line);
    }
    return out;
  }

  set(rules: ServicePortRules): void {
    const old = this.ports.get(rules.key);
    if (old) this.count(old, -1);
    else this.sorted = undefined;
    this.ports.set(rules.key, rules);
    let keys = this.byService.get(rules.service);
    if (!keys) this.byService.set(rules.service, (keys = new Set()));
    keys.add(rules.key);
    this.count(rules, 1);
  }

  delete(key: string): void {
    const old = this.ports.get(key);
    if (!old) return;
    this.count(old, -1);
    this.ports.delete(key);
    this.sorted = undefined;
    const keys = this.byService.get(old.service)!;
    keys.delete(key);
    if (keys.size === 0) this.byService.delete(old.service);
  }

  clear(): void {
    this.ports.clear();
    this.byService.clear();
    this.sorted = undefined;
    this.endpointTotal = this.natTotal = this.filterTotal = this.noLocalInternal = this.noLocalExternal = 0;
    this.tail = [];
    this.servicesSize = 0;
    this.trusted = false;
  }

  /** Rules of all service ports in nat (dispatch and own chains) and filter, endpoints, Local policies without one. */
  totals(): {
    endpoints: number;
    nat: number;
    filter: number;
    noLocalInternal: number;
    noLocalExternal: number;
  } {
    return {
      endpoints: this.endpointTotal,
      nat: this.natTotal,
      filter: this.filterTotal,
      noLocalInternal: this.noLocalInternal,
      noLocalExternal: this.noLocalExternal,
    };
  }

  private count(r: ServicePortRules, sign: 1 | -1): void {
    this.endpointTotal += sign * r.endpoints;
    this.natTotal += sign * r.natRules;
    this.filterTotal += sign * r.filterRules;
    this.noLocalInternal += sign * Number(r.noLocalInternal);
    this.noLocalExternal += sign * Number(r.noLocalExternal);
  }
}
