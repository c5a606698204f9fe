/**
 * net.* sysctls of a namespace. /proc/sys/net shows the network namespace of the process that
 * reads it, so kdp's own process (in the host namespace) must not touch it: reads and writes run
 * in a short process inside the namespace (`ip netns exec NS sh|cat`). Keys and values reach the
 * shell as arguments, never as script text, and keys are checked to stay under /proc/sys/net.
 */
import { sysctlPath } from '../check.ts';
import { KERNEL_ERR, classifyKernelMessage, kernelError } from '../errors.ts';
import type { Sysctl } from '../interfaces.ts';
import { assertKdpNamespace } from '../name-checks.ts';
import type { ExecOptions } from '../types.ts';
import { WRITE_PAIRS, sysctlFailure } from './lanes.ts';
import { CommandFailed, runCommand, toKernelError } from './run-command.ts';

/** /proc/sys/net/ipv4/conf/eth0.100/forwarding -> net.ipv4.conf.eth0/100.forwarding */
export function keyOfPath(path: string): string {
  return path
    .replace(/^\/proc\/sys\//, '')
    .split('/')
    .map((s) => s.replaceAll('.', '/'))
    .join('.');
}

export class Iproute2Sysctl implements Sysctl {
  constructor(private readonly prefix: string) {}

  async get(ns: string, key: string): Promise<string> {
    const operation = `sysctl -n ${key}`;
    assertKdpNamespace(ns, this.prefix, operation);
    const path = sysctlPath(key, operation, ns);
    try {
      const { stdout } = await runCommand(['ip', 'netns', 'exec', ns, 'cat', path]);
      return stdout.trim();
    } catch (e) {
      throw toKernelError(e, { operation, namespace: ns });
    }
  }

  async set(ns: string, key: string, value: string): Promise<void> {
    await this.setMany(ns, { [key]: value });
  }

  async setMany(
    ns: string,
    values: Readonly<Record<string, string>>,
    options: ExecOptions = {},
  ): Promise<void> {
    const keys = Object.keys(values);
    if (keys.length === 0) return;
    const describe = (k: string) => `sysctl -w ${k}=${values[k]}`;
    assertKdpNamespace(ns, this.prefix, describe(keys[0]));
    const args: string[] = [];
    for (const k of keys) {
      if (/[\n\0]/.test(values[k])) {
        throw kernelError(KERNEL_ERR.invalid, `value holds a newline or NUL`, {
          operation: describe(k),
          namespace: ns,
        });
      }
      args.push(sysctlPath(k, describe(k), ns), values[k]);
    }
    try {
      await runCommand(['ip', 'netns', 'exec', ns, 'sh', '-c', WRITE_PAIRS, 'sh', ...args], options);
    } catch (e) {
      if (!(e instanceof CommandFailed))
        throw toKernelError(e, { operation: describe(keys[0]), namespace: ns });
      const failed = sysctlFailure(e.stderr);
      const key = failed.path ? keyOfPath(failed.path) : keys[0];
      const message = failed.message;
      throw kernelError(
        classifyKernelMessage(message),
        message || e.message,
        { operation: describe(key), namespace: ns },
        e,
      );
    }
  }
}
