/**
 * The proxy modes by name: the registry every other part reads (mode-spec.ts says what a mode
 * is). Adding a mode is its folder and one line in MODES. The cluster builder and `kdp up` check
 * the mode before anything is brought up, so a mode that cannot run here fails at once with a
 * message saying why and what to use instead, not as agents dying one by one.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KdpError } from '../errors.ts';
import { iptablesMode } from './iptables/mode.ts';
import type {
  HostProbe,
  ModeCleanupContext,
  ProxierContext,
  ProxyModeFlag,
  ProxyModeFlagValues,
  RegisteredProxyMode,
} from './mode-spec.ts';
import { nftablesMode } from './nftables/mode.ts';
import { noneMode } from './none/mode.ts';
import type { Proxier } from './proxier-contract.ts';

export type { HostProbe } from './mode-spec.ts';

export const PROXY_MODE_UNAVAILABLE = 'KDP_ERR_PROXY_MODE_UNAVAILABLE';
export const PROXY_MODE_UNKNOWN = 'KDP_ERR_PROXY_MODE_UNKNOWN';
export const PROXY_MODE_FLAG = 'KDP_ERR_PROXY_MODE_FLAG';
export const PROXY_MODE_DUPLICATE = 'KDP_ERR_PROXY_MODE_DUPLICATE';

/** The registry: one line per mode, in the order help texts list them. */
const MODES: RegisteredProxyMode[] = [iptablesMode, nftablesMode, noneMode];

/** The mode `kdp up` and the agent run when none is named. */
export const DEFAULT_PROXY_MODE = 'iptables';

export const realHost: HostProbe = {
  hasFile: (path) => existsSync(path),
  hasProgram: (name) =>
    (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name))),
};

/** A host assumed to have every tool and kernel feature: for clusters whose agents are stand-ins. */
export const ANY_HOST: HostProbe = { hasFile: () => true, hasProgram: () => true };

/**
 * Adds a mode at run time (a test's toy mode, a user's experiment); returns what removes it again.
 * Its flags must not clash with another mode's.
 */
export function registerProxyMode(mode: RegisteredProxyMode): () => void {
  if (MODES.some((m) => m.name === mode.name))
    throw new KdpError(PROXY_MODE_DUPLICATE, `a proxy mode named "${mode.name}" already exists`);
  for (const f of mode.flags) {
    const owner = flagOwner(f.name);
    if (owner || RESERVED_FLAGS.has(f.name))
      throw new KdpError(
        PROXY_MODE_DUPLICATE,
        `proxy mode ${mode.name}: flag --${f.name} is taken${owner ? ` by proxy mode ${owner.name}` : ''}`,
      );
  }
  MODES.push(mode);
  return () => {
    const i = MODES.indexOf(mode);
    if (i >= 0) MODES.splice(i, 1);
  };
}

/** Flags of the agent and `kdp up` that no mode may declare. */
const RESERVED_FLAGS = new Set(['proxy-mode', 'cluster-cidr', 'min-sync-period', 'sync-period', 'cleanup']);

/** Every mode kdp has, runnable here or not. */
export function proxyModes(): readonly RegisteredProxyMode[] {
  return MODES;
}

/** Every mode name kdp knows, runnable here or not. */
export function proxyModeNames(): string[] {
  return MODES.map((m) => m.name);
}

/** The mode of that name; KDP_ERR_PROXY_MODE_UNKNOWN listing the known ones otherwise. */
export function proxyMode(name: string): RegisteredProxyMode {
  const m = MODES.find((x) => x.name === name);
  if (!m) {
    throw new KdpError(
      PROXY_MODE_UNKNOWN,
      `unknown proxy mode "${name}": kdp has ${proxyModeNames().join(', ')}`,
      {
        details: { mode: name },
      },
    );
  }
  return m;
}

/** Every mode's flags, each with its mode: what the agent and `kdp up` declare. */
export function proxyModeFlags(): { mode: string; flag: ProxyModeFlag }[] {
  return MODES.flatMap((m) => m.flags.map((flag) => ({ mode: m.name, flag })));
}

function flagOwner(flag: string): RegisteredProxyMode | undefined {
  return MODES.find((m) => m.flags.some((f) => f.name === flag));
}

/**
 * The flag values `mode` runs with: the given ones checked (a flag of another mode, an unknown
 * flag or a value outside the valid ones is KDP_ERR_PROXY_MODE_FLAG saying what is valid), the
 * rest at their defaults. `given` maps flag names (no dashes) to values; undefined values are
 * ignored, so a parsed command line can be passed as it is.
 */
export function resolveModeFlags(
  mode: string,
  given: Readonly<Record<string, string | undefined>> = {},
): ProxyModeFlagValues {
  const m = proxyMode(mode);
  const out: Record<string, string> = {};
  for (const f of m.flags) out[f.name] = f.default;
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const f = m.flags.find((x) => x.name === name);
    if (!f) {
      const owner = flagOwner(name);
      throw new KdpError(
        PROXY_MODE_FLAG,
        owner
          ? `--${name} is a flag of proxy mode ${owner.name}, not of ${mode}`
          : `proxy mode ${mode} has no flag --${name}${m.flags.length ? ` (it has ${m.flags.map((x) => `--${x.name}`).join(', ')})` : ''}`,
        { details: { mode, flag: name } },
      );
    }
    if (!f.values.includes(value)) {
      throw new KdpError(PROXY_MODE_FLAG, `--${name} must be ${f.values.join(' or ')}, got "${value}"`, {
        details: { mode, flag: name, value },
      });
    }
    out[name] = value;
  }
  return out;
}

export interface ModeCheckOptions {
  /** The mode's flags as given (resolveModeFlags checks them). */
  flags?: Readonly<Record<string, string | undefined>>;
  host?: HostProbe;
}

/**
 * Throws KDP_ERR_PROXY_MODE_UNAVAILABLE when `mode` cannot run on this host (saying what it lacks),
 * KDP_ERR_PROXY_MODE_UNKNOWN for a name kdp does not know, KDP_ERR_PROXY_MODE_FLAG for a bad flag.
 * Returns what works only partly (a missing conntrack tool).
 */
export function checkProxyMode(mode: string, opts: ModeCheckOptions = {}): { warnings: string[] } {
  const m = proxyMode(mode);
  const flags = resolveModeFlags(mode, opts.flags);
  const host = opts.host ?? realHost;
  const missing = m.missing(host, flags);
  if (missing) throw new KdpError(PROXY_MODE_UNAVAILABLE, missing, { details: { mode } });
  return { warnings: m.degraded(host, flags) };
}

/**
 * The proxier of `mode` for one node, not started (runProxier starts it); undefined for a mode
 * that runs none. Throws as checkProxyMode for a mode that cannot run here.
 */
export function createProxier(
  mode: string,
  ctx: ProxierContext,
  opts: ModeCheckOptions = {},
): Proxier | undefined {
  checkProxyMode(mode, opts);
  return proxyMode(mode).create(ctx, resolveModeFlags(mode, opts.flags));
}

/**
 * kube-proxy --cleanup: removes every mode's leftovers from a node's namespace, whichever mode
 * ran there (or none did). Returns one line per mode that found something.
 */
export async function cleanupProxyModes(
  netns: string,
  opts: Partial<ModeCleanupContext> & { except?: string } = {},
): Promise<string[]> {
  const ctx: ModeCleanupContext = { prefix: opts.prefix, host: opts.host ?? realHost };
  const done: string[] = [];
  for (const m of MODES) {
    // A node switching modes: the mode about to run keeps its own rules (`except`).
    if (m.name === opts.except) continue;
    const removed = await m.cleanup(netns, ctx);
    if (removed) done.push(`${m.name}: removed ${removed}`);
  }
  return done;
}
