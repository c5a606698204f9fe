/**
 * The nftables proxy mode: kube-proxy's nftables ruleset (table `ip kube-proxy`), programmed into
 * one node namespace with one `nft -f -` transaction per sync. The framework (BaseProxier) tracks
 * objects and paces syncs; this class turns a SyncState into a script:
 * - a full sync (the first, after a failure, after this Node changed, hourly) replaces the whole
 *   table in one transaction (`add table` + `delete table` + everything), so nothing stale of any
 *   earlier version survives and other tables are never touched;
 * - a partial sync writes only what changed for the updated Services: their chains whose rules
 *   differ (flushed and refilled), the map and set elements that differ (deleted, added), the
 *   affinity sets of new endpoints; chains and sets no longer used are flushed at once (nothing
 *   refers to them any more) and deleted by a later sync, at least STALE_DELAY_MS later, as
 *   upstream does;
 * - after a successful write, stale UDP conntrack entries are deleted as the iptables mode does.
 */
import { KdpError } from '../../errors.ts';
import { createConntrack } from '../../kernel/conntrack/conntrack.ts';
import type { Conntrack } from '../../kernel/conntrack/interface.ts';
import type { NftFamily, Nftables } from '../../kernel/nftables/interface.ts';
import { createNftables } from '../../kernel/nftables/nftables.ts';
import { BaseProxier, type BaseProxierOptions } from '../base-proxier.ts';
import { cleanStaleConntrack } from '../iptables/conntrack-cleanup.ts';
import type { IptablesEndpoint, IptablesServicePort } from '../iptables/iptables-model.ts';
import type { SyncReport, SyncState } from '../proxier-contract.ts';
import { fixedScript } from './nft-fixed-rules.ts';
import {
  makeNftEndpoint,
  makeNftServicePort,
  type NftEndpoint,
  type NftServicePort,
} from './nftables-model.ts';
import { CLUSTER_IPS } from './nft-names.ts';
import { servicePortRules, type RuleContext, type ServicePortRules } from './nft-service-rules.ts';

type Base = BaseProxierOptions<NftServicePort, NftEndpoint>;

/** Chains and sets a partial sync stopped using are deleted this long after (upstream: 1 s). */
export const STALE_DELAY_MS = 1000;

export interface NftablesProxierOptions extends Pick<
  Base,
  | 'minSyncPeriodMs'
  | 'syncPeriodMs'
  | 'retryPeriodMs'
  | 'fullSyncPeriodMs'
  | 'kernelCheckPeriodMs'
  | 'clock'
  | 'log'
> {
  nodeName: string;
  /** The node's network namespace (must carry the Nftables' prefix). */
  netns: string;
  nftables: Nftables;
  conntrack: Conntrack;
  /** --cluster-cidr: ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR?: string;
  /** --masquerade-all. */
  masqueradeAll?: boolean;
  /** The packet mark bit that asks for masquerade; default 14 (0x4000). */
  masqueradeBit?: number;
}

/** What one sync wrote (tests and logs). */
export interface NftWrite {
  kind: 'full' | 'partial';
  script: string;
  /** Service port keys whose objects were rewritten. */
  rewritten: string[];
}

export class NftablesProxier extends BaseProxier<NftServicePort, NftEndpoint> {
  readonly netns: string;
  readonly family: NftFamily = 'ip';
  lastWrite?: NftWrite;
  private readonly nft: Nftables;
  private readonly conntrack: Conntrack;
  private readonly ctx: RuleContext;
  private readonly mark: number;
  /** Per service port key, what is programmed for it; undefined until a full sync succeeded. */
  private programmed?: Map<string, ServicePortRules>;
  /** cluster-ips elements are shared by a Service's ports: how many ports hold each. */
  private clusterIPRefs = new Map<string, number>();
  /** Chains / sets flushed and waiting to be deleted, with when they went stale. */
  private staleChains = new Map<string, number>();
  private staleSets = new Map<string, number>();

  constructor(opts: NftablesProxierOptions) {
    super({
      ...opts,
      mode: 'nftables',
      ipFamily: 'IPv4',
      makeServicePort: makeNftServicePort,
      makeEndpoint: makeNftEndpoint,
    });
    const bit = opts.masqueradeBit ?? 14;
    if (!Number.isInteger(bit) || bit < 0 || bit > 31)
      throw new KdpError('KDP_ERR_PROXY_CONFIG', `masqueradeBit must be an integer from 0 to 31, got ${bit}`);
    this.mark = 2 ** bit;
    this.netns = opts.netns;
    this.nft = opts.nftables;
    this.conntrack = opts.conntrack;
    this.ctx = { clusterCIDR: opts.clusterCIDR, masqueradeAll: opts.masqueradeAll ?? false };
  }

  private get t(): string {
    return `${this.family} kube-proxy`;
  }

  protected async syncRules(state: SyncState<NftServicePort, NftEndpoint>): Promise<SyncReport> {
    const full = state.full || this.programmed === undefined;
    const write = full ? this.planFull(state) : this.planPartial(state);
    try {
      if (write.script.lines.length > 0)
        await this.nft.apply(this.netns, write.script.lines.join('\n') + '\n');
    } catch (error) {
      this.programmed = undefined;
      throw error;
    }
    write.commit();
    this.lastWrite = {
      kind: full ? 'full' : 'partial',
      script: write.script.lines.join('\n'),
      rewritten: write.rewritten,
    };
    await cleanStaleConntrack(
      this.conntrack,
      state as unknown as SyncState<IptablesServicePort, IptablesEndpoint>,
      { ns: this.netns, protocols: new Set(['UDP']), log: this.log },
    );
    let internal = 0;
    let external = 0;
    for (const r of this.programmed!.values()) {
      if (r.noLocalInternal) internal++;
      if (r.noLocalExternal) external++;
    }
    return { noLocalEndpoints: { internal, external } };
  }

  private include(svc: NftServicePort): boolean {
    return svc.protocol !== 'SCTP';
  }

  private planFull(state: SyncState<NftServicePort, NftEndpoint>) {
    const t = this.t;
    const lines = [`add table ${t}`, `delete table ${t}`, ...fixedScript(this.family, this.mark)];
    const programmed = new Map<string, ServicePortRules>();
    const refs = new Map<string, number>();
    const body: string[] = [];
    const elements: string[] = [];
    for (const svc of state.services.values()) {
      if (!this.include(svc)) continue;
      const r = servicePortRules(svc, state.endpoints.get(svc.key) ?? [], this.ctx);
      programmed.set(svc.key, r);
      for (const [name, timeout] of r.affinitySets) lines.push(this.affinitySet(name, timeout));
      for (const name of r.chains.keys()) lines.push(`add chain ${t} ${name}`);
      for (const [name, rules] of r.chains)
        for (const rule of rules) body.push(`add rule ${t} ${name} ${rule}`);
      for (const e of r.elements) {
        if (e.set === CLUSTER_IPS) {
          const n = refs.get(e.key) ?? 0;
          refs.set(e.key, n + 1);
          if (n > 0) continue;
        }
        elements.push(this.element('add', e));
      }
    }
    lines.push(...body, ...elements);
    return {
      script: { lines },
      rewritten: [...programmed.keys()],
      commit: () => {
        this.programmed = programmed;
        this.clusterIPRefs = refs;
        this.staleChains.clear();
        this.staleSets.clear();
      },
    };
  }

  private affinitySet(name: string, timeout: number): string {
    return `add set ${this.t} ${name} { type ipv4_addr ; flags dynamic,timeout ; timeout ${timeout}s ; }`;
  }

  private element(op: 'add' | 'delete', e: { set: string; key: string; value?: string }): string {
    return `${op} element ${this.t} ${e.set} { ${e.key}${op === 'add' && e.value !== undefined ? ` : ${e.value}` : ''} }`;
  }

  private planPartial(state: SyncState<NftServicePort, NftEndpoint>) {
    const t = this.t;
    const programmed = this.programmed!;
    const now = this.clock.now();
    const keys = new Set<string>();
    for (const svc of state.services.values()) if (state.updatedServices.has(svc.service)) keys.add(svc.key);
    for (const svc of state.deletedServicePorts) keys.add(svc.key);

    const sets: string[] = [];
    const declare: string[] = [];
    const fill: string[] = [];
    const dels: string[] = [];
    const adds: string[] = [];
    const flushStale: string[] = [];
    const next = new Map<string, ServicePortRules | undefined>();
    const refs = new Map(this.clusterIPRefs);
    const newlyStaleChains: string[] = [];
    const newlyStaleSets: string[] = [];
    const revived = new Set<string>();
    const rewritten: string[] = [];
    const elementKey = (e: { set: string; key: string; value?: string }) =>
      `${e.set}\0${e.key}\0${e.value ?? ''}`;

    for (const key of keys) {
      const svc = state.services.get(key);
      const now =
        svc && this.include(svc)
          ? servicePortRules(svc, state.endpoints.get(key) ?? [], this.ctx)
          : undefined;
      const old = programmed.get(key);
      if (!now && !old) continue;
      next.set(key, now);
      rewritten.push(key);
      for (const [name, rules] of now?.chains ?? []) {
        const before = old?.chains.get(name);
        if (before && before.length === rules.length && before.every((r, i) => r === rules[i])) continue;
        revived.add(name);
        declare.push(`add chain ${t} ${name}`);
        if (before || this.staleChains.has(name)) fill.push(`flush chain ${t} ${name}`);
        for (const rule of rules) fill.push(`add rule ${t} ${name} ${rule}`);
      }
      for (const name of old?.chains.keys() ?? [])
        if (!now?.chains.has(name)) {
          flushStale.push(`flush chain ${t} ${name}`);
          newlyStaleChains.push(name);
        }
      for (const [name, timeout] of now?.affinitySets ?? [])
        if (!old?.affinitySets.has(name)) {
          revived.add(name);
          sets.push(this.affinitySet(name, timeout));
        }
      for (const name of old?.affinitySets.keys() ?? [])
        if (!now?.affinitySets.has(name)) newlyStaleSets.push(name);
      const oldEls = new Set((old?.elements ?? []).map(elementKey));
      const newEls = new Set((now?.elements ?? []).map(elementKey));
      for (const e of old?.elements ?? [])
        if (!newEls.has(elementKey(e))) {
          if (e.set === CLUSTER_IPS) {
            const n = (refs.get(e.key) ?? 1) - 1;
            if (n > 0) refs.set(e.key, n);
            else refs.delete(e.key);
            if (n > 0) continue;
          }
          dels.push(this.element('delete', e));
        }
      for (const e of now?.elements ?? [])
        if (!oldEls.has(elementKey(e))) {
          if (e.set === CLUSTER_IPS) {
            const n = refs.get(e.key) ?? 0;
            refs.set(e.key, n + 1);
            if (n > 0) continue;
          }
          adds.push(this.element('add', e));
        }
    }
    // Chains and sets stale long enough: nothing refers to them since the sync that flushed them.
    const deleteStale: string[] = [];
    const dueChains = [...this.staleChains]
      .filter(([n, at]) => now - at >= STALE_DELAY_MS && !revived.has(n))
      .map(([n]) => n);
    const dueSets = [...this.staleSets]
      .filter(([n, at]) => now - at >= STALE_DELAY_MS && !revived.has(n))
      .map(([n]) => n);
    for (const n of dueChains) deleteStale.push(`delete chain ${t} ${n}`);
    for (const n of dueSets) deleteStale.push(`delete set ${t} ${n}`);
    const lines = [...sets, ...declare, ...fill, ...dels, ...adds, ...flushStale, ...deleteStale];
    return {
      script: { lines },
      rewritten,
      commit: () => {
        for (const [key, r] of next) {
          if (r) programmed.set(key, r);
          else programmed.delete(key);
        }
        this.clusterIPRefs = refs;
        for (const n of dueChains) this.staleChains.delete(n);
        for (const n of dueSets) this.staleSets.delete(n);
        for (const n of revived) {
          this.staleChains.delete(n);
          this.staleSets.delete(n);
        }
        for (const n of newlyStaleChains) if (!revived.has(n)) this.staleChains.set(n, now);
        for (const n of newlyStaleSets) if (!revived.has(n)) this.staleSets.set(n, now);
      },
    };
  }

  /** Is the table still there with its hooks? (someone ran `nft flush ruleset` or deleted it) */
  protected override async checkKernelState(): Promise<string | undefined> {
    if (this.programmed === undefined) return undefined;
    const text = await this.nft.listTable(this.netns, this.family);
    if (text === undefined) return `table ${this.t} is gone`;
    if (!/chain nat-prerouting \{[^}]*jump services/.test(text))
      return `chain nat-prerouting lost its jump to services`;
    return undefined;
  }

  protected async cleanupRules(): Promise<void> {
    await this.nft.deleteTable(this.netns, this.family);
    this.programmed = undefined;
    this.clusterIPRefs.clear();
    this.staleChains.clear();
    this.staleSets.clear();
  }
}

export interface NftablesProxierOnNodeOptions extends Omit<NftablesProxierOptions, 'nftables' | 'conntrack'> {
  /** Namespace prefix the kernel tools may touch; default 'kdp-'. */
  prefix?: string;
}

/** An NftablesProxier with the real nft and conntrack tools, run in `netns`. */
export function createNftablesProxier(opts: NftablesProxierOnNodeOptions): NftablesProxier {
  const { prefix, ...rest } = opts;
  return new NftablesProxier({
    ...rest,
    nftables: createNftables({ prefix }),
    conntrack: createConntrack({ prefix }),
  });
}
