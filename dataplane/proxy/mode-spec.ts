/**
 * What a proxy mode is to the rest of kdp: one spec, exported by the mode's folder
 * (dataplane/proxy/<mode>/mode.ts) and listed once in the registry (modes.ts). Everything that
 * offers or runs modes reads the registry: topology validation, `kdp up` and its help, the agent's
 * flags, `kdp doctor`, the bench's mode axis, `kdp cleanup` / `agent --cleanup`. A mode's own
 * settings are flags it declares here (name, valid values, default, help); they travel from
 * `kdp up` through the topology's proxyOptions to the agent's command line as `--<flag> value`,
 * and reach the mode parsed into its own options type. Nothing outside the folder names a mode.
 */
import type { Log } from '../agent/log.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import type { ModeUnderTest } from './compliance/types.ts';
import type { Proxier } from './proxier.ts';

/** What the availability checks look at; tests give their own. */
export interface HostProbe {
  hasFile(path: string): boolean;
  hasProgram(name: string): boolean;
}

/** A setting of one mode, as a flag of `kdp up` and of the agent (`--<name> <value>`). */
export interface ProxyModeFlag {
  /** Without dashes, prefixed by the mode's name or subject so flags of modes never clash: 'iptables-backend'. */
  name: string;
  /** One line for help texts. */
  help: string;
  /** The valid values; a value outside them is a usage error that lists them. */
  values: readonly string[];
  /** The value when the flag is not given. */
  default: string;
}

/** A mode's flags with their values, validated: every declared flag is present (default or given). */
export type ProxyModeFlagValues = Readonly<Record<string, string>>;

/** What every mode gets to program one node. */
export interface ProxierContext {
  /** The Node the proxier programs. */
  nodeName: string;
  /** The node's network namespace (the rules go there). */
  netns: string;
  /** The pod network (kube-proxy's --cluster-cidr): traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR?: string;
  /** Namespace prefix the kernel tools may touch (the cluster's, kdp-<cluster>-). */
  prefix?: string;
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  log?: Log;
}

/** Where a mode's leftovers are looked for. */
export interface ModeCleanupContext {
  /** Namespace prefix the kernel tools may touch. */
  prefix?: string;
  host: HostProbe;
}

/** A mode's harnesses for the mode-neutral compliance suite (dataplane/proxy/compliance). */
export interface ModeCompliance {
  /** Unit tier: the mode on fake kernel facilities with a tracer of its rule language. */
  fake(): Promise<ModeUnderTest>;
  /**
   * Integration tier (root): the mode programming the real kernel in namespaces under `kernel`'s
   * prefix, each flow traced through what the kernel then holds; one harness per variant
   * (the iptables mode: per backend).
   */
  kernel?(kernel: Kernel): Promise<ModeUnderTest[]>;
}

/** One proxy mode. `O` is the mode's options, parsed from its flags. */
export interface ProxyModeSpec<O = ProxyModeFlagValues> {
  /** `--proxy-mode <name>`, and what /proxyMode answers. */
  name: string;
  /** One line for `kdp up --help` and `kdp doctor`. */
  summary: string;
  flags?: readonly ProxyModeFlag[];
  /** The mode's options from its validated flags (defaults filled in). */
  options(flags: ProxyModeFlagValues): O;
  /** What this host lacks to run the mode (the fix included), or undefined. */
  missing(host: HostProbe, options: O): string | undefined;
  /** What only degrades the mode on this host (each with its consequence). */
  degraded?(host: HostProbe, options: O): string[];
  /** The node's proxier, not started; null: the mode runs no proxier ('none'). */
  create: ((ctx: ProxierContext, options: O) => Proxier) | null;
  /** Removes whatever the mode may have left in a namespace, found by name, never from memory;
   * returns what it removed. Runs for every mode on `kdp cleanup` / `agent --cleanup`. */
  cleanup?(netns: string, ctx: ModeCleanupContext): Promise<string | undefined>;
  /** The Prometheus metrics the mode adds to the common ones (kubeproxy_... / kdp_proxy_...). */
  metrics?: readonly string[];
  compliance?: ModeCompliance;
}

/** A spec with its options type erased, as the registry holds it. */
export interface RegisteredProxyMode {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly ProxyModeFlag[];
  readonly runsProxier: boolean;
  readonly metrics: readonly string[];
  readonly compliance?: ModeCompliance;
  missing(host: HostProbe, flags: ProxyModeFlagValues): string | undefined;
  degraded(host: HostProbe, flags: ProxyModeFlagValues): string[];
  create(ctx: ProxierContext, flags: ProxyModeFlagValues): Proxier | undefined;
  cleanup(netns: string, ctx: ModeCleanupContext): Promise<string | undefined>;
}

/** Wraps a mode's spec for the registry: its options are parsed from the flags on each call. */
export function defineProxyMode<O>(spec: ProxyModeSpec<O>): RegisteredProxyMode {
  const create = spec.create;
  return {
    name: spec.name,
    summary: spec.summary,
    flags: spec.flags ?? [],
    runsProxier: create !== null,
    metrics: spec.metrics ?? [],
    compliance: spec.compliance,
    missing: (host, flags) => spec.missing(host, spec.options(flags)),
    degraded: (host, flags) => spec.degraded?.(host, spec.options(flags)) ?? [],
    create: (ctx, flags) => (create === null ? undefined : create(ctx, spec.options(flags))),
    cleanup: async (netns, ctx) => spec.cleanup?.(netns, ctx),
  };
}
