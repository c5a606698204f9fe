/**
 * Runs iproute2 and friends as child processes and turns a failure into a typed KdpError: the
 * exit status decides success (never stray output), the kernel's message becomes the cause and
 * picks the code. For batches it reads `Command failed -:N` to tell which line, and so which
 * operation, the kernel refused.
 */
import { spawn } from 'node:child_process';
import { KERNEL_ERR, classifyKernelMessage, kernelError } from '../errors.ts';
import type { ExecOptions, ExecResult } from '../types.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

export class CommandFailed extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(stderr.trim() || `${argv[0]} exited with status ${exitCode}`);
    this.name = 'CommandFailed';
  }
}

/** Runs argv to completion; rejects with CommandFailed on a non-zero exit, or the abort reason. */
export function runCommand(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // EPIPE when a command exits before reading all its input: its exit status tells the story.
    child.stdin.on('error', () => {});
    child.on('error', (e) => reject(options.signal?.aborted ? options.signal.reason : e));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (options.signal?.aborted) return reject(options.signal.reason);
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal ? `${stderr}\nkilled by ${signal}` : stderr;
      reject(new CommandFailed(argv, code, why));
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The kernel's own words from iproute2's stderr, without the batch bookkeeping lines. */
export function kernelMessage(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Command failed /.test(l))
    .map((l) => l.replace(/^(Error: |RTNETLINK answers: )/, ''))
    .join('; ');
}

/** 1-based line numbers that `ip -batch -` reported as failed. */
export function failedBatchLines(stderr: string): number[] {
  return [...stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]));
}

/** Runs one `ip` command; failures become KdpErrors naming `operation` and the namespace. */
export async function runIp(
  args: readonly string[],
  context: { namespace?: string; operation: string },
  options: ExecOptions = {},
): Promise<ExecResult> {
  try {
    return await runCommand(['ip', ...args], options);
  } catch (e) {
    throw toKernelError(e, context);
  }
}

export function toKernelError(e: unknown, context: { namespace?: string; operation: string }): unknown {
  if (!(e instanceof CommandFailed)) {
    if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOENT')
      return kernelError(KERNEL_ERR.command, `${e.message}: is iproute2 installed?`, context, e);
    return e;
  }
  const message = kernelMessage(e.stderr) || e.message;
  return kernelError(classifyKernelMessage(message), message, context, e);
}
