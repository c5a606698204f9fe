/**
 * The real Conntrack: the conntrack tool (conntrack-tools) run inside a named kdp namespace with
 * `nsenter --net=/run/netns/NS`, after the namespace guard. `conntrack -D` exits 1 when nothing
 * matched ("0 flow entries have been deleted"), which is success here: a flush of entries that
 * are already gone has done its job.
 */
import { KERNEL_ERR, kernelError } from '../errors.ts';
import { CommandFailed, kernelMessage, runCommand } from '../iproute2/run-command.ts';
import { KDP_NAMESPACE_PREFIX, assertKdpNamespace, assertPrefix, netnsPath } from '../name-checks.ts';
import type { ExecOptions, ExecResult } from '../types.ts';
import { checkFilter, deletedCount, filterArgs, parseEntry } from './filter.ts';
import type { Conntrack, ConntrackEntry, ConntrackFilter } from './interface.ts';
import { ConntrackShorthands } from './shorthands.ts';

export interface ConntrackOptions {
  /** Only namespaces starting with this are touched; default 'kdp-'. */
  prefix?: string;
  /** Runs one command to completion; the default spawns it. Unit tests pass their own. */
  run?: (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;
}

class ConntrackTool extends ConntrackShorthands implements Conntrack {
  private readonly run: NonNullable<ConntrackOptions['run']>;

  constructor(
    readonly prefix: string,
    options: ConntrackOptions,
  ) {
    super();
    this.run = options.run ?? runCommand;
  }

  private async conntrack(ns: string, args: string[], operation: string): Promise<ExecResult> {
    assertKdpNamespace(ns, this.prefix, operation);
    try {
      return await this.run(['nsenter', `--net=${netnsPath(ns)}`, 'conntrack', ...args], {});
    } catch (e) {
      const context = { namespace: ns, operation };
      if (!(e instanceof CommandFailed)) {
        if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOENT')
          throw kernelError(
            KERNEL_ERR.command,
            `${e.message}: is util-linux (nsenter) installed?`,
            context,
            e,
          );
        throw e;
      }
      if (args[0] === '-D' && deletedCount(e.stderr) === 0) return { stdout: e.stderr, stderr: e.stderr };
      const message = kernelMessage(e.stderr) || e.message;
      if (/nsenter: (cannot open|reassociate)/.test(e.stderr))
        throw kernelError(KERNEL_ERR.notFound, message, context, e);
      const hint = /failed to execute/.test(e.stderr)
        ? ': install conntrack (apt-get install conntrack)'
        : '';
      throw kernelError(KERNEL_ERR.command, message + hint, context, e);
    }
  }

  async delete(ns: string, filter: ConntrackFilter): Promise<number> {
    const args = ['-D', ...filterArgs(filter)];
    const operation = `conntrack ${args.join(' ')}`;
    assertKdpNamespace(ns, this.prefix, operation);
    checkFilter(filter, operation, ns, true);
    const { stderr } = await this.conntrack(ns, args, operation);
    return deletedCount(stderr) ?? 0;
  }

  async list(ns: string, filter: ConntrackFilter = {}): Promise<ConntrackEntry[]> {
    const args = ['-L', ...filterArgs(filter)];
    const operation = `conntrack ${args.join(' ')}`;
    assertKdpNamespace(ns, this.prefix, operation);
    checkFilter(filter, operation, ns, false);
    const { stdout } = await this.conntrack(ns, args, operation);
    return stdout
      .split('\n')
      .map(parseEntry)
      .filter((e): e is ConntrackEntry => e !== undefined);
  }
}

export function createConntrack(options: ConntrackOptions = {}): Conntrack {
  const prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
  assertPrefix(prefix);
  return new ConntrackTool(prefix, options);
}
