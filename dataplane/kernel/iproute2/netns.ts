/**
 * Named network namespaces through iproute2 (`ip netns add/del/exec`), which keeps them as
 * bind mounts under /run/netns where every other tool finds them. Creating and deleting many at
 * once goes through one `ip -batch -` process. Every name passes the kdp namespace guard first.
 */
import { readdir, stat } from 'node:fs/promises';
import { KERNEL_ERR, kernelError } from '../errors.ts';
import type { Netns } from '../interfaces.ts';
import { NETNS_DIR, assertKdpNamespace, netnsPath } from '../name-checks.ts';
import type { ExecOptions, ExecResult } from '../types.ts';
import {
  CommandFailed,
  failedBatchLines,
  kernelMessage,
  runCommand,
  runIp,
  toKernelError,
} from './run-command.ts';

export class Iproute2Netns implements Netns {
  constructor(private readonly prefix: string) {}

  async create(name: string): Promise<void> {
    assertKdpNamespace(name, this.prefix, `ip netns add ${name}`);
    await runIp(['netns', 'add', name], { operation: `ip netns add ${name}` });
  }

  async delete(name: string): Promise<void> {
    assertKdpNamespace(name, this.prefix, `ip netns del ${name}`);
    await runIp(['netns', 'del', name], { operation: `ip netns del ${name}` });
  }

  /** Creates all of `names` in one process; stops at the first failure, leaving the earlier ones. */
  async createMany(names: readonly string[], options: ExecOptions = {}): Promise<void> {
    await this.batch('add', names, false, options);
  }

  async deleteMany(names: readonly string[], options: ExecOptions = {}): Promise<void> {
    await this.batch('del', names, true, options);
  }

  /** One `ip -batch -` of `netns add|del` lines; with `force` every line is attempted. */
  private async batch(verb: 'add' | 'del', names: readonly string[], force: boolean, options: ExecOptions) {
    if (names.length === 0) return;
    for (const n of names) assertKdpNamespace(n, this.prefix, `ip netns ${verb} ${n}`);
    const input = names.map((n) => `netns ${verb} ${n}\n`).join('');
    try {
      // ~2 ms per namespace; the default 30 s timeout would cut thousands short.
      const timeoutMs = options.timeoutMs ?? 60_000 + 20 * names.length;
      await runCommand(['ip', ...(force ? ['-force'] : []), '-batch', '-'], { ...options, input, timeoutMs });
    } catch (e) {
      if (!(e instanceof CommandFailed)) throw toKernelError(e, { operation: `ip netns ${verb}` });
      const lines = failedBatchLines(e.stderr);
      const name = names[(lines[0] ?? 1) - 1];
      const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
      throw toKernelError(e, { operation: `ip netns ${verb} ${name}${more}` });
    }
  }

  async list(prefix: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(NETNS_DIR);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter((n) => n.startsWith(prefix)).sort();
  }

  async exists(name: string): Promise<boolean> {
    try {
      await stat(netnsPath(name));
      return true;
    } catch {
      return false;
    }
  }

  command(name: string, argv: readonly string[]): string[] {
    assertKdpNamespace(name, this.prefix, `ip netns exec ${name} ${argv.join(' ')}`);
    if (argv.length === 0) {
      throw kernelError(KERNEL_ERR.invalid, 'no command to run', {
        operation: 'ip netns exec',
        namespace: name,
      });
    }
    return ['ip', 'netns', 'exec', name, ...argv];
  }

  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = this.command(name, argv);
    const operation = argv.join(' ');
    try {
      return await runCommand(command, options);
    } catch (e) {
      if (!(e instanceof CommandFailed)) throw toKernelError(e, { operation, namespace: name });
      // Only ip's own complaint about the namespace is classified; a command's output is its own.
      const message = kernelMessage(e.stderr) || e.message;
      const code = /Cannot open network namespace/.test(e.stderr) ? KERNEL_ERR.notFound : KERNEL_ERR.command;
      throw kernelError(
        code,
        `exited with status ${e.exitCode}: ${message}`,
        { operation, namespace: name },
        e,
      );
    }
  }

  path(name: string): string {
    assertKdpNamespace(name, this.prefix, `open ${netnsPath(name)}`);
    return netnsPath(name);
  }
}
