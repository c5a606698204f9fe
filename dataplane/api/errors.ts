/**
 * API errors: a KdpError that carries the Kubernetes Status the server answers with. The HTTP
 * layer writes `status` as the body with `status.code` as the HTTP code; the in-process client
 * throws the same error, so callers see one shape whichever transport they use.
 */
import { KdpError, type ErrorCode } from '../errors.ts';
import type { Status, StatusCause } from './types.ts';

export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'RequestEntityTooLarge'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'Unauthorized'
  | 'Forbidden'
  | 'Timeout'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

const CODE_BY_REASON: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

/** The code of each Status reason; error-codes.ts must list every one (checked below). */
type ApiReasonCode = `KDP_ERR_API_${Uppercase<StatusReason>}`;
const EVERY_REASON_CODE_IS_LISTED: ApiReasonCode extends ErrorCode ? true : never = true;
void EVERY_REASON_CODE_IS_LISTED;

export interface ApiErrorTarget {
  group?: string;
  /** Resource plural for most reasons, kind for Invalid, as upstream's Status does. */
  kind?: string;
  name?: string;
}

export class ApiError extends KdpError {
  readonly status: Status;

  constructor(
    reason: StatusReason,
    message: string,
    target: ApiErrorTarget = {},
    causes?: StatusCause[],
    cause?: unknown,
  ) {
    super(`KDP_ERR_API_${reason.toUpperCase()}` as ApiReasonCode, message, { cause });
    this.name = 'ApiError';
    const details =
      target.name !== undefined || target.kind !== undefined || causes
        ? { name: target.name, group: target.group, kind: target.kind, causes }
        : undefined;
    this.status = {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      details,
      code: CODE_BY_REASON[reason],
    };
  }

  get httpCode(): number {
    return this.status.code;
  }

  get reason(): StatusReason {
    return this.status.reason as StatusReason;
  }

  /** Rebuilds an ApiError from a Status a server sent. */
  static fromStatus(status: Status, httpCode?: number): ApiError {
    const reason = (status.reason as StatusReason) || reasonForCode(httpCode ?? status.code);
    const e = new ApiError(
      reason in CODE_BY_REASON ? reason : 'InternalError',
      status.message ?? `request failed with HTTP ${httpCode ?? status.code}`,
      { group: status.details?.group, kind: status.details?.kind, name: status.details?.name },
      status.details?.causes,
    );
    e.status.code = status.code || httpCode || e.status.code;
    return e;
  }
}

function reasonForCode(code: number): StatusReason {
  const found = (Object.entries(CODE_BY_REASON) as [StatusReason, number][]).find(([, c]) => c === code);
  return found ? found[0] : 'InternalError';
}

/** `services "web" not found`, worded as the real apiserver words it. */
export function notFound(resource: string, name: string, group = ''): ApiError {
  const what = group ? `${resource}.${group}` : resource;
  return new ApiError('NotFound', `${what} "${name}" not found`, { group, kind: resource, name });
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  const what = group ? `${resource}.${group}` : resource;
  return new ApiError('AlreadyExists', `${what} "${name}" already exists`, { group, kind: resource, name });
}

export function conflict(resource: string, name: string, why: string, group = ''): ApiError {
  const what = group ? `${resource}.${group}` : resource;
  return new ApiError('Conflict', `Operation cannot be fulfilled on ${what} "${name}": ${why}`, {
    group,
    kind: resource,
    name,
  });
}

export function invalid(kind: string, name: string, causes: StatusCause[], group = ''): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError('Invalid', `${kind} "${name}" is invalid: ${summary}`, { group, kind, name }, causes);
}

export function badRequest(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

export function isApiError(err: unknown, reason?: StatusReason): err is ApiError {
  return err instanceof ApiError && (reason === undefined || err.reason === reason);
}
