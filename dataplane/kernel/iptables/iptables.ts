/**
 * The real Iptables: iptables-restore and iptables-save of the chosen backend (nft by default:
 * iptables-nft-restore; legacy: iptables-legacy-restore; both from Debian's iptables package)
 * run inside a named kdp namespace with `nsenter --net=/run/netns/NS`, the payload on stdin.
 * The namespace guard runs before any process starts, so nothing here can reach the host's own
 * tables. `-w` waits for the xtables lock, which the legacy backend takes in /run and so shares
 * across every namespace on the machine.
 */
import { KERNEL_ERR, kernelError } from '../errors.ts';
import { CommandFailed, kernelMessage, runCommand } from '../iproute2/run.ts';
import { KDP_NAMESPACE_PREFIX, assertKdpNamespace, assertPrefix, netnsPath } from '../names.ts';
import type { ExecOptions, ExecResult } from '../types.ts';
import { checkRules } from './check-rules.ts';
import { blamedLine, restoreReason, restoreRejected } from './errors.ts';
import type { Iptables, RulesByTable } from './interface.ts';
import {
  deleteChains,
  deleteJumps,
  ensureJumps,
  savedChains,
  savedRules,
  type ChainQuery,
  type JumpIo,
} from './jumps.ts';
import type { IptablesBackend, IptablesTable, JumpRule, MissingRule, RestoreOptions } from './types.ts';

export interface IptablesOptions {
  /** Only namespaces starting with this are touched; default 'kdp-'. Tests narrow it. */
  prefix?: string;
  backend?: IptablesBackend;
  /** Seconds to wait for the xtables lock (-w); default 60, since legacy restores of all nodes share it. */
  waitSeconds?: number;
  /** Runs one command to completion; the default spawns it. Unit tests pass their own. */
  run?: (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;
}

export const IPTABLES_BINARIES: Readonly<
  Record<IptablesBackend, { restore: string; save: string; cli: string }>
> = {
  nft: { restore: 'iptables-nft-restore', save: 'iptables-nft-save', cli: 'iptables-nft' },
  legacy: { restore: 'iptables-legacy-restore', save: 'iptables-legacy-save', cli: 'iptables-legacy' },
};

/** The backends, the default first. */
export const IPTABLES_BACKENDS: readonly IptablesBackend[] = ['nft', 'legacy'];

/** 60 s plus 1 ms per KiB: a 10k-service payload (tens of MB) takes about 11 s to restore here. */
function restoreTimeout(payload: string): number {
  return 60_000 + Math.ceil(payload.length / 1024);
}

class IptablesTool implements Iptables {
  private readonly bin: { restore: string; save: string; cli: string };
  private readonly wait: number;
  private readonly run: NonNullable<IptablesOptions['run']>;
  private readonly io: JumpIo;

  constructor(
    readonly prefix: string,
    readonly backend: IptablesBackend,
    options: IptablesOptions,
  ) {
    this.bin = IPTABLES_BINARIES[backend];
    this.wait = options.waitSeconds ?? 60;
    this.run = options.run ?? runCommand;
    this.io = {
      readChains: (ns, table, chains) => this.readChains(ns, table, chains),
      restore: (ns, p, o) => this.restore(ns, p, o),
    };
  }

  private argv(ns: string, tool: string, args: readonly string[]): string[] {
    return ['nsenter', `--net=${netnsPath(ns)}`, tool, ...args];
  }

  /** A failure that is not the payload's fault: missing namespace, missing binary, lock, signal. */
  private toolFailure(e: unknown, ns: string, operation: string): unknown {
    const context = { namespace: ns, operation };
    if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOENT')
      return kernelError(KERNEL_ERR.command, `${e.message}: is util-linux (nsenter) installed?`, context, e);
    if (!(e instanceof CommandFailed)) return e;
    const message = kernelMessage(e.stderr) || e.message;
    if (e.exitCode === null)
      return kernelError(
        KERNEL_ERR.command,
        `${message} (timed out or killed; nothing is known to be applied)`,
        context,
        e,
      );
    if (/nsenter: (cannot open|reassociate)/.test(e.stderr))
      return kernelError(KERNEL_ERR.notFound, message, context, e);
    if (/nsenter: failed to execute/.test(e.stderr))
      return kernelError(
        KERNEL_ERR.command,
        `${message}: install the iptables package (apt-get install iptables)`,
        context,
        e,
      );
    return undefined;
  }

  async restore(ns: string, payload: string, options: RestoreOptions = {}): Promise<void> {
    const flags = [...(options.noflush ? ['--noflush'] : []), ...(options.counters ? ['--counters'] : [])];
    const operation = [this.bin.restore, ...flags].join(' ');
    assertKdpNamespace(ns, this.prefix, operation);
    try {
      await this.run(this.argv(ns, this.bin.restore, ['-w', String(this.wait), ...flags]), {
        input: payload,
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? restoreTimeout(payload),
      });
    } catch (e) {
      const failure = this.toolFailure(e, ns, operation);
      if (failure !== undefined) throw failure;
      const stderr = (e as CommandFailed).stderr;
      if (/xtables lock/.test(stderr))
        throw kernelError(KERNEL_ERR.command, restoreReason(stderr), { namespace: ns, operation }, e);
      throw restoreRejected({
        namespace: ns,
        operation,
        payload,
        line: blamedLine(stderr),
        reason: restoreReason(stderr) || (e as Error).message,
        cause: e,
      });
    }
  }

  checkRules(ns: string, rules: RulesByTable): Promise<MissingRule | undefined> {
    return checkRules(rules, (payload) => this.restore(ns, payload, { noflush: true }));
  }

  async save(ns: string, table?: IptablesTable): Promise<string> {
    const args = table ? ['-t', table] : [];
    const operation = [this.bin.save, ...args].join(' ');
    assertKdpNamespace(ns, this.prefix, operation);
    try {
      return (await this.run(this.argv(ns, this.bin.save, args), {})).stdout;
    } catch (e) {
      const failure = this.toolFailure(e, ns, operation);
      if (failure !== undefined) throw failure;
      const message = kernelMessage((e as CommandFailed).stderr) || (e as Error).message;
      throw kernelError(KERNEL_ERR.command, message, { namespace: ns, operation }, e);
    }
  }

  /**
   * The chains the helpers look at. legacy reads a whole table whatever it is asked, so one save
   * is cheapest; nft reads single chains, so `iptables-nft -S CHAIN` (rules) and `-S CHAIN 1`
   * (existence) run in parallel: 5-10 ms each with 10k services loaded, where a save takes 2.7 s.
   */
  private async readChains(
    ns: string,
    table: IptablesTable,
    chains: readonly ChainQuery[],
  ): Promise<Map<string, string[]>> {
    if (this.backend === 'legacy') {
      const all = savedRules(await this.save(ns, table));
      return new Map(
        chains.filter((c) => all.has(c.name)).map((c) => [c.name, c.rules ? all.get(c.name)! : []]),
      );
    }
    const found = await Promise.all(chains.map((c) => this.listChain(ns, table, c)));
    return new Map(found.filter((f): f is [string, string[]] => f !== undefined));
  }

  /** `iptables -S CHAIN [1]`: the chain's -A lines, or undefined when it does not exist. */
  private async listChain(
    ns: string,
    table: IptablesTable,
    c: ChainQuery,
  ): Promise<[string, string[]] | undefined> {
    const args = ['-w', String(this.wait), '-t', table, '-S', c.name, ...(c.rules ? [] : ['1'])];
    const operation = [this.bin.cli, ...args.slice(2)].join(' ');
    assertKdpNamespace(ns, this.prefix, operation);
    try {
      const { stdout } = await this.run(this.argv(ns, this.bin.cli, args), {});
      return [c.name, c.rules ? (savedRules(stdout).get(c.name) ?? []) : []];
    } catch (e) {
      const failure = this.toolFailure(e, ns, operation);
      if (failure !== undefined) throw failure;
      const stderr = (e as CommandFailed).stderr;
      // A missing chain: legacy says so; nft calls a chain it cannot find "incompatible".
      if (/No chain\/target\/match by that name|is incompatible|does not exist/.test(stderr))
        return undefined;
      throw kernelError(
        KERNEL_ERR.command,
        kernelMessage(stderr) || (e as Error).message,
        { namespace: ns, operation },
        e,
      );
    }
  }

  async listChains(ns: string, table: IptablesTable, prefix = ''): Promise<string[]> {
    return savedChains(await this.save(ns, table)).filter((c) => c.startsWith(prefix));
  }

  ensureJumps(ns: string, jumps: readonly JumpRule[]): Promise<number> {
    return ensureJumps(this.io, ns, jumps);
  }

  deleteJumps(ns: string, jumps: readonly JumpRule[]): Promise<number> {
    return deleteJumps(this.io, ns, jumps);
  }

  deleteChains(ns: string, table: IptablesTable, chains: readonly string[]): Promise<number> {
    return deleteChains(this.io, ns, table, chains);
  }
}

export function createIptables(options: IptablesOptions = {}): Iptables {
  const prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
  assertPrefix(prefix);
  return new IptablesTool(prefix, options.backend ?? 'nft', options);
}
