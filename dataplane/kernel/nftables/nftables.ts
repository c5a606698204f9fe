/**
 * The real Nftables: `nft -f -` (the nftables Debian package) run inside a named kdp namespace
 * with `nsenter --net=/run/netns/NS`, the script on stdin, so a whole sync is one nft process and
 * one kernel transaction. The namespace guard and the table guard (guard.ts) run before any
 * process starts: nothing here can reach the host's tables, or another table of the node.
 */
import { KdpError } from '../../errors.ts';
import { KERNEL_ERR, kernelError } from '../errors.ts';
import { CommandFailed, kernelMessage, runCommand } from '../iproute2/run-command.ts';
import { KDP_NAMESPACE_PREFIX, assertKdpNamespace, assertPrefix, netnsPath } from '../name-checks.ts';
import type { ExecOptions, ExecResult } from '../types.ts';
import { assertKubeProxyScript } from './guard.ts';
import { KUBE_PROXY_TABLE, type NftFamily, type Nftables } from './interface.ts';

export interface NftablesOptions {
  /** Only namespaces starting with this are touched; default 'kdp-'. */
  prefix?: string;
  /** Runs one command to completion; the default spawns it. Unit tests pass their own. */
  run?: (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;
}

/** 60 s plus 1 ms per KiB of script: a 10k-service script is tens of MB. */
function applyTimeout(script: string): number {
  return 60_000 + Math.ceil(script.length / 1024);
}

/** `/dev/stdin:12:1-40: Error: ...`: the line nft blamed, 1-based. */
export function nftBlamedLine(stderr: string): number | undefined {
  const m = /^(?:\/dev\/stdin|-):(\d+):/m.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** Whether nft's answer says the table (or namespace object) is not there. */
function isMissing(stderr: string): boolean {
  return /No such file or directory/.test(stderr);
}

class NftTool implements Nftables {
  private readonly run: NonNullable<NftablesOptions['run']>;

  constructor(
    readonly prefix: string,
    options: NftablesOptions,
  ) {
    this.run = options.run ?? runCommand;
  }

  private argv(ns: string, args: readonly string[]): string[] {
    return ['nsenter', `--net=${netnsPath(ns)}`, 'nft', ...args];
  }

  /** A failure that is not the script's fault: missing namespace or binary, timeout. */
  private toolFailure(e: unknown, ns: string, operation: string): unknown {
    const context = { namespace: ns, operation };
    if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOENT')
      return kernelError(KERNEL_ERR.command, `${e.message}: is util-linux (nsenter) installed?`, context, e);
    if (!(e instanceof CommandFailed)) return e;
    const message = kernelMessage(e.stderr) || e.message;
    if (e.exitCode === null)
      return kernelError(KERNEL_ERR.command, `${message} (timed out or killed)`, context, e);
    if (/nsenter: (cannot open|reassociate)/.test(e.stderr))
      return kernelError(KERNEL_ERR.notFound, message, context, e);
    if (/nsenter: failed to execute/.test(e.stderr))
      return kernelError(
        KERNEL_ERR.command,
        `${message}: install the nftables package (apt-get install nftables)`,
        context,
        e,
      );
    return undefined;
  }

  async apply(ns: string, script: string): Promise<void> {
    const operation = 'nft -f -';
    assertKdpNamespace(ns, this.prefix, operation);
    assertKubeProxyScript(script, ns);
    try {
      await this.run(this.argv(ns, ['-f', '-']), { input: script, timeoutMs: applyTimeout(script) });
    } catch (e) {
      const failure = this.toolFailure(e, ns, operation);
      if (failure !== undefined) throw failure;
      const stderr = (e as CommandFailed).stderr;
      const line = nftBlamedLine(stderr);
      const text = line !== undefined ? script.split('\n')[line - 1] : undefined;
      const reason = /Error: (.*)/.exec(stderr)?.[1] ?? kernelMessage(stderr);
      throw new KdpError(
        KERNEL_ERR.rejected,
        `${operation} in namespace ${ns}: ${reason}${line !== undefined ? ` (line ${line}: ${text})` : ''}`,
        { cause: e, details: { namespace: ns, operation, line, text } },
      );
    }
  }

  async listTable(ns: string, family: NftFamily): Promise<string | undefined> {
    const args = ['list', 'table', family, KUBE_PROXY_TABLE];
    const operation = `nft ${args.join(' ')}`;
    assertKdpNamespace(ns, this.prefix, operation);
    try {
      return (await this.run(this.argv(ns, args), { timeoutMs: 120_000 })).stdout;
    } catch (e) {
      const failure = this.toolFailure(e, ns, operation);
      if (failure !== undefined) throw failure;
      const stderr = (e as CommandFailed).stderr;
      if (isMissing(stderr)) return undefined;
      throw kernelError(KERNEL_ERR.command, kernelMessage(stderr), { namespace: ns, operation }, e);
    }
  }

  async deleteTable(ns: string, family: NftFamily): Promise<boolean> {
    const args = ['delete', 'table', family, KUBE_PROXY_TABLE];
    const operation = `nft ${args.join(' ')}`;
    assertKdpNamespace(ns, this.prefix, operation);
    try {
      await this.run(this.argv(ns, args), {});
      return true;
    } catch (e) {
      const failure = this.toolFailure(e, ns, operation);
      if (failure !== undefined) throw failure;
      const stderr = (e as CommandFailed).stderr;
      if (isMissing(stderr)) return false;
      throw kernelError(KERNEL_ERR.command, kernelMessage(stderr), { namespace: ns, operation }, e);
    }
  }
}

export function createNftables(options: NftablesOptions = {}): Nftables {
  const prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
  assertPrefix(prefix);
  return new NftTool(prefix, options);
}
