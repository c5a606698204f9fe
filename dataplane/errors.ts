/**
 * kdp's typed error. Every failure kdp reports carries a stable code (KDP_ERR_..., one of the
 * list in error-codes.ts), a message that says what failed and what to do, and the underlying
 * cause when there is one. Callers branch on `code`, never on message text.
 */
import type { ErrorCode } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

export class KdpError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KdpError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isKdpError(err: unknown, code?: ErrorCode): err is KdpError {
  return err instanceof KdpError && (code === undefined || err.code === code);
}

/** Message of any thrown value, with the cause chain, for logs and CLI output. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(cur instanceof KdpError ? `${cur.message} [${cur.code}]` : cur.message);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': caused by: ');
}

/**
 * Runs every step of a clean-up even when some fail (a half-built cluster must still be taken
 * apart as far as it goes), then throws one KDP_ERR_CLEANUP naming every failure, the first as
 * its cause.
 */
export class CleanupSteps {
  private readonly failures: unknown[] = [];

  async attempt(step: () => unknown): Promise<void> {
    try {
      await step();
    } catch (e) {
      this.failures.push(e);
    }
  }

  /** Throws when any step failed; `what` says what was being cleaned up ("removing node n1"). */
  finish(what: string): void {
    if (this.failures.length === 0) return;
    throw new KdpError('KDP_ERR_CLEANUP', `${what}: ${this.failures.map(describeError).join('; ')}`, {
      cause: this.failures[0],
    });
  }
}
