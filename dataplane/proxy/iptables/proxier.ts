/**
 * The iptables proxy mode: kube-proxy's iptables rules, programmed into one node namespace with
 * one iptables-restore per sync. The framework (BaseProxier) tracks objects and paces syncs; this
 * class only turns a SyncState into a restore:
 * - a full sync (the first, after a failure, after this Node changed, hourly, or when large-cluster
 *   mode flips) rebuilds nat and filter with a restore without --noflush: kube-proxy's chains, the
 *   jumps into them, and everyone else's rules read back with iptables-save (full-sync.ts,
 *   foreign-rules.ts);
 * - a partial sync writes, with --noflush, only the chains of service ports whose rules changed,
 *   and a dispatch chain only when a service port's lines in it changed (partial-sync.ts);
 * - after a successful write, stale UDP/SCTP conntrack entries are deleted (conntrack-cleanup.ts);
 * - between syncs, every second, the framework asks checkKernelState whether the hook jumps and
 *   fixed rules are still there (canary.ts); when not, the next sync is full.
 * What was written is kept in ProgrammedRules, so a partial sync needs no iptables-save. Rules and
 * their shapes are upstream's; README.md says where kdp differs and why.
 */
import type { Protocol } from '../../api/types.ts';
import { KdpError } from '../../errors.ts';
import { createConntrack } from '../../kernel/conntrack/conntrack.ts';
import type { Conntrack } from '../../kernel/conntrack/interface.ts';
import { createIptables } from '../../kernel/iptables/iptables.ts';
import type { Iptables } from '../../kernel/iptables/interface.ts';
import type { IptablesBackend } from '../../kernel/iptables/types.ts';
import { BaseProxier, type BaseProxierOptions } from '../base-proxier.ts';
import type { SyncReport, SyncState } from '../proxier.ts';
import { cleanupIptables } from './cleanup.ts';
import { IptablesMetrics } from './metrics.ts';
import { canaryRules } from './canary.ts';
import { cleanStaleConntrack } from './conntrack-cleanup.ts';
import { KUBE_PROXY_JUMP_RULES, nodePortsTail, type NodePortAddresses } from './fixed-rules.ts';
import { jumpLine, remaindersOf, type Remainders } from './foreign-rules.ts';
import { fixedRuleCounts, planFullSync } from './full-sync.ts';
import {
  makeIptablesEndpoint,
  makeIptablesServicePort,
  type IptablesEndpoint,
  type IptablesServicePort,
} from './model.ts';
import { endpointTotalAfter, planPartialSync, updatedPorts } from './partial-sync.ts';
import { ProgrammedRules } from './programmed.ts';
import type { RuleContext } from './rule-text.ts';
import type { SyncInput, SyncWrite } from './sync-input.ts';

type Base = BaseProxierOptions<IptablesServicePort, IptablesEndpoint>;

/** Our jumps from built-in chains as iptables-save prints them: where they are, they stay. */
const JUMP_LINES: ReadonlySet<string> = new Set(KUBE_PROXY_JUMP_RULES.map(jumpLine));

export interface IptablesProxierOptions extends Pick<
  Base,
  | 'minSyncPeriodMs'
  | 'syncPeriodMs'
  | 'retryPeriodMs'
  | 'fullSyncPeriodMs'
  | 'kernelCheckPeriodMs'
  | 'clock'
  | 'log'
> {
  /** The Node this proxier programs: its endpoints are local, its addresses take node ports. */
  nodeName: string;
  /** The node's network namespace, where the rules go (must carry the Iptables' prefix). */
  netns: string;
  iptables: Iptables;
  conntrack: Conntrack;
  /** The pod network (kube-proxy's --cluster-cidr): ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR?: string;
  /** Masquerade all ClusterIP traffic (kube-proxy's --masquerade-all). */
  masqueradeAll?: boolean;
  /** The bit of the packet mark that asks for masquerade; default 14 (0x4000), as upstream. */
  masqueradeBit?: number;
  /** 'all' (default): node ports on every local address (addrtype LOCAL); 'node-ips': on the Node's addresses. */
  nodePortAddresses?: NodePortAddresses;
  /** Program SCTP service ports (needs the kernel's SCTP conntrack and xt_sctp); default false. */
  sctp?: boolean;
  /** Above this many endpoints, per-endpoint rules carry no comment; default 1000, as upstream. */
  largeClusterEndpointsThreshold?: number;
  /**
   * Read nat and filter (iptables-save) before every full sync, to keep the rules others put
   * there (default true). false: read them at the first full sync and after a failure only, and
   * write them back from memory otherwise; saves an iptables-save per full sync (3-5 s with 10k
   * services on iptables-nft) where nothing else writes these tables after the proxier started.
   */
  rereadForeignRules?: boolean;
}

export class IptablesProxier extends BaseProxier<IptablesServicePort, IptablesEndpoint> {
  readonly netns: string;
  /** What the kernel holds, as far as this proxier wrote it. */
  readonly programmed = new ProgrammedRules();
  /** The mode's own metrics, in the proxier's registry beside the common ones. */
  readonly iptablesMetrics: IptablesMetrics;
  /** The last sync's write (kind, what it rewrote), for tests and logs. */
  lastWrite?: Omit<SyncWrite, 'commit'>;
  private readonly iptables: Iptables;
  private readonly conntrack: Conntrack;
  private readonly settings: Omit<RuleContext, 'largeCluster'>;
  private readonly nodePortAddresses: NodePortAddresses;
  private readonly sctp: boolean;
  private readonly threshold: number;
  private readonly cleanupProtocols: ReadonlySet<Protocol>;
  private readonly rereadForeignRules: boolean;
  /** The nat and filter content that is not ours, as last read. */
  private kept?: Remainders;

  constructor(opts: IptablesProxierOptions) {
    super({
      ...opts,
      mode: 'iptables',
      ipFamily: 'IPv4',
      makeServicePort: makeIptablesServicePort,
      makeEndpoint: makeIptablesEndpoint,
    });
    const bit = opts.masqueradeBit ?? 14;
    if (!Number.isInteger(bit) || bit < 0 || bit > 31)
      throw new KdpError('KDP_ERR_PROXY_CONFIG', `masqueradeBit must be an integer from 0 to 31, got ${bit}`);
    this.iptablesMetrics = new IptablesMetrics(this.metrics.registry);
    this.netns = opts.netns;
    this.iptables = opts.iptables;
    this.conntrack = opts.conntrack;
    this.settings = {
      masqueradeMark: `0x${(2 ** bit).toString(16)}`,
      masqueradeAll: opts.masqueradeAll ?? false,
      clusterCIDR: opts.clusterCIDR,
    };
    this.nodePortAddresses = opts.nodePortAddresses ?? 'all';
    this.sctp = opts.sctp ?? false;
    this.threshold = opts.largeClusterEndpointsThreshold ?? 1000;
    this.cleanupProtocols = new Set<Protocol>(this.sctp ? ['UDP', 'SCTP'] : ['UDP']);
    this.rereadForeignRules = opts.rereadForeignRules ?? true;
  }

  protected async syncRules(state: SyncState<IptablesServicePort, IptablesEndpoint>): Promise<SyncReport> {
    const p = this.programmed;
    const tail = nodePortsTail(this.nodePortAddresses, state.node.addresses);
    const include = (svc: IptablesServicePort) => this.sctp || svc.protocol !== 'SCTP';
    const input = (largeCluster: boolean): SyncInput => ({
      state,
      ctx: { ...this.settings, largeCluster },
      tail,
      include,
    });
    let write: SyncWrite | undefined;
    if (!state.full && p.trusted) {
      const same = input(p.largeCluster);
      const ports = updatedPorts(same, p);
      // Comments on every per-endpoint rule come or go with large-cluster mode: that is a full sync.
      if (endpointTotalAfter(same, p, ports) > this.threshold === p.largeCluster)
        write = planPartialSync(same, p, ports);
    }
    if (!write) {
      let endpoints = 0;
      for (const svc of state.services.values())
        if (include(svc)) endpoints += state.endpoints.get(svc.key)?.length ?? 0;
      // Everyone else's rules in nat and filter go into the flushing restore with ours.
      let existing: Iterable<string> = p.chains();
      if (this.rereadForeignRules || !this.kept || !p.trusted) {
        this.kept = remaindersOf(await this.iptables.save(this.netns), JUMP_LINES);
        existing = this.kept.nat.kubeChains;
      }
      write = planFullSync(input(endpoints > this.threshold), p, this.kept, existing);
    }
    const full = write.kind === 'full';
    if (write.payload) {
      try {
        await this.iptables.restore(this.netns, write.payload.text, { noflush: !full });
      } catch (error) {
        p.trusted = false;
        this.iptablesMetrics.restoreFailures.inc();
        if (!full) this.iptablesMetrics.partialRestoreFailures.inc();
        throw error;
      }
    }
    write.commit();
    this.lastWrite = {
      kind: write.kind,
      payload: write.payload,
      written: write.written,
      removed: write.removed,
      dispatch: write.dispatch,
    };
    await cleanStaleConntrack(this.conntrack, state, {
      ns: this.netns,
      protocols: this.cleanupProtocols,
      log: this.log,
    });
    const totals = p.totals();
    const fixed = fixedRuleCounts(p.tail);
    this.iptablesMetrics.rules.set({ table: 'filter' }, totals.filter + fixed.filter);
    this.iptablesMetrics.rules.set({ table: 'nat' }, totals.nat + fixed.nat);
    return {
      noLocalEndpoints: { internal: totals.noLocalInternal, external: totals.noLocalExternal },
    };
  }

  /** One `-C` restore of the hook jumps and fixed rules (canary.ts): what is missing, if anything. */
  protected override async checkKernelState(): Promise<string | undefined> {
    // Before the first full sync, or after a failed write, the next sync is full anyway.
    if (!this.programmed.trusted) return undefined;
    const missing = await this.iptables.checkRules(
      this.netns,
      canaryRules(this.settings.masqueradeMark, this.programmed.tail),
    );
    return missing && `${missing.table}: ${missing.rule ?? 'a rule or chain'} is gone (${missing.reason})`;
  }

  protected async cleanupRules(): Promise<void> {
    await cleanupIptables(this.iptables, this.netns);
    this.programmed.clear();
    this.kept = undefined;
  }
}

export interface IptablesProxierOnNodeOptions extends Omit<IptablesProxierOptions, 'iptables' | 'conntrack'> {
  /** nft (default) or legacy iptables tools. */
  backend?: IptablesBackend;
  /** Namespace prefix the kernel tools may touch; default 'kdp-'. */
  prefix?: string;
}

/** An IptablesProxier with the real iptables-restore and conntrack tools, run in `netns`. */
export function createIptablesProxier(opts: IptablesProxierOnNodeOptions): IptablesProxier {
  const { backend, prefix, ...rest } = opts;
  return new IptablesProxier({
    ...rest,
    iptables: createIptables({ backend, prefix }),
    conntrack: createConntrack({ prefix }),
  });
}
