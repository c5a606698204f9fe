/**
 * ebpf-ts's error codes and the mapping of the addon's failures onto them. The addon throws
 * TypeErrors for bad arguments and Errors with `code` = errno name (and `log` for loads); here they
 * become KdpErrors saying what failed on which object, map, program or attach point.
 */
import type { ErrorCode } from '../error-codes.ts';
import { KdpError } from '../errors.ts';
import { trimVerifierLog } from './verifier-log.ts';

export const BPF_ERR = {
  /** The object could not be opened (no such file, not an ELF BPF object). */
  open: 'KDP_ERR_BPF_OPEN',
  /** The kernel refused the object: details.log holds the verifier's trimmed log. */
  load: 'KDP_ERR_BPF_LOAD',
  /** No program or map of that name, or a key that is absent where one must exist. */
  notFound: 'KDP_ERR_BPF_NOT_FOUND',
  /** A codec does not match the object's BTF (size, offset or field), or a value does not fit it. */
  codec: 'KDP_ERR_BPF_CODEC',
  /** An attach target outside kdp's namespaces or cgroup subtree. */
  host: 'KDP_ERR_BPF_HOST_TARGET',
  /** Attach refused by the kernel. */
  attach: 'KDP_ERR_BPF_ATTACH',
  /** A map operation or test run the kernel refused. */
  syscall: 'KDP_ERR_BPF_SYSCALL',
  /** Use of a closed object, map, link or ring buffer. */
  closed: 'KDP_ERR_BPF_CLOSED',
  /** Something this host's kernel lacks (e.g. tcx on a kernel before 6.6). */
  unsupported: 'KDP_ERR_BPF_UNSUPPORTED',
} as const satisfies Record<string, ErrorCode>;

interface NativeFailure {
  message?: string;
  code?: string;
  log?: string;
}

/** The errno name of an addon failure (EPERM, ENOENT, ...), if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as NativeFailure | undefined)?.code;
  return typeof code === 'string' && code.startsWith('E') ? code : undefined;
}

/** Wraps an addon failure: `what` says which operation on which thing ("update map flows"). */
export function bpfError(
  code: (typeof BPF_ERR)[keyof typeof BPF_ERR],
  what: string,
  err: unknown,
  details?: Record<string, unknown>,
): KdpError {
  const failure = err as NativeFailure;
  const errno = errnoOf(err);
  const reason = failure?.message ?? String(err);
  return new KdpError(code, `${what}: ${reason}`, { cause: err, details: { ...details, errno } });
}

/** A failed load: the message ends with the verifier's verdict, details.log holds the trimmed log. */
export function loadError(path: string, err: unknown): KdpError {
  const raw = (err as NativeFailure).log ?? '';
  const log = trimVerifierLog(raw);
  const errno = errnoOf(err);
  const verdict = log.verdict ? `: ${log.verdict}` : '';
  const where = log.program
    ? ` (program ${log.program}${log.instruction ? `, instruction ${log.instruction}` : ''})`
    : '';
  return new KdpError(BPF_ERR.load, `the kernel refused BPF object ${path}${where}${verdict}`, {
    cause: err,
    details: { errno, program: log.program, instruction: log.instruction, log: log.text },
  });
}
