/**
 * Request decoding for the dispatcher: bodies (JSON or YAML bytes from HTTP, objects from
 * in-process callers) with upstream's size limit, PATCH content types, DeleteOptions from the body
 * and the query, and typed query parameters. Every malformed input becomes a 4xx Status here, so
 * the registry only ever sees well-formed values. readBody reads an HTTP body within the limit.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, invalid } from '../errors.ts';
import { checkJsonValue, parseJsonSafely } from '../json-safe.ts';
import type { DeleteOptions } from '../registry/generic-registry.ts';
import type { PatchType } from '../registry/patch.ts';
import type { FieldValidation } from '../schema/decode.ts';

/** Upstream's limit for a request body (3 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

export function patchTypeOf(contentType: string | undefined): PatchType {
  const t = PATCH_TYPES[mediaType(contentType)];
  if (!t) {
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
    );
  }
  return t;
}

function isYaml(contentType: string | undefined): boolean {
  const t = mediaType(contentType);
  return t === 'application/yaml' || t === 'application/apply-patch+yaml' || t === 'text/yaml';
}

/** Checks the Content-Type of a POST or PUT body: JSON or YAML (no protobuf in kdp). */
export function checkObjectContentType(contentType: string | undefined): void {
  const t = mediaType(contentType);
  if (t === '' || t === 'application/json' || t === 'application/yaml' || t === '*/*') return;
  // kubectl's typed commands (create deployment, create namespace, ...) send protobuf bodies.
  const hint = t.includes('protobuf')
    ? ' (kdp does not decode protobuf: for kubectl create <kind> ..., pipe its --dry-run=client -o yaml output to kubectl apply -f -)'
    : '';
  throw new ApiError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml${hint}`,
  );
}

/**
 * The body as a value: bytes are size-checked and parsed (JSON, or YAML when the Content-Type
 * says so); an in-process caller's object is used as it is. `undefined` when there is no body.
 */
export function decodeBody(body: unknown, contentType: string | undefined, maxBytes: number): unknown {
  if (body === undefined || body === null) return undefined;
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body;
  const size = Buffer.isBuffer(body) ? body.length : Buffer.byteLength(body);
  if (size > maxBytes) {
    throw new ApiError(
      'RequestEntityTooLarge',
      `the request body is ${size} bytes, more than the limit of ${maxBytes}`,
    );
  }
  const text = body.toString();
  if (text.trim() === '') return undefined;
  try {
    if (!isYaml(contentType)) return parseJsonSafely(text);
    // The yaml parser stores a `__proto__` key as data and fails cleanly when nesting exhausts
    // the stack; the walk after it applies the same key and depth rules as for JSON.
    const value: unknown = parseYaml(text, { maxAliasCount: 100 });
    checkJsonValue(value);
    return value;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const what = isYaml(contentType) ? 'yaml' : 'json';
    throw badRequest(`the request body could not be decoded: ${what} parse error: ${(e as Error).message}`);
  }
}

export function requireBody(value: unknown): unknown {
  if (value === undefined) throw badRequest('the request has no body: an object is required');
  return value;
}

/** An integer query parameter; undefined when absent, 400 when malformed. */
export function intParam(query: URLSearchParams, name: string, min = 0): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min) {
    throw badRequest(`invalid value for query parameter ${name}: "${raw}" (expected an integer >= ${min})`);
  }
  return Number(raw);
}

function dryRunOf(values: unknown): boolean {
  const list = Array.isArray(values) ? values : [values];
  for (const v of list) {
    if (v !== 'All')
      throw badRequest(`invalid dry run value "${String(v)}": the only supported value is "All"`);
  }
  return list.length > 0;
}

/** `dryRun=All` from the query; 400 for any other value. */
export function dryRunParam(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun').filter((v) => v !== '');
  return values.length > 0 && dryRunOf(values);
}

const FIELD_VALIDATION = new Set(['Ignore', 'Warn', 'Strict']);

/** fieldValidation of a write; Warn when absent, as upstream defaults it. */
export function fieldValidationParam(query: URLSearchParams): FieldValidation {
  const fv = query.get('fieldValidation');
  return fv === 'Strict' || fv === 'Ignore' ? fv : 'Warn';
}

/** fieldManager and fieldValidation are accepted and checked for form (kdp keeps no managedFields). */
export function checkWriteParams(query: URLSearchParams): void {
  const fv = query.get('fieldValidation');
  if (fv !== null && fv !== '' && !FIELD_VALIDATION.has(fv)) {
    throw badRequest(`fieldValidation must be one of "Ignore", "Warn" or "Strict", not "${fv}"`);
  }
  const fm = query.get('fieldManager');
  if (fm !== null && fm.length > 128) throw badRequest('fieldManager must be at most 128 characters');
}

const PROPAGATION = new Set(['Orphan', 'Background', 'Foreground']);

/** DeleteOptions from the body (a DeleteOptions object) merged with the query, as upstream. */
export function deleteOptions(body: unknown, query: URLSearchParams): DeleteOptions {
  const opts: DeleteOptions = {};
  if (body !== undefined) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest('the body of a DELETE must be a DeleteOptions object');
    }
    const b = body as Record<string, unknown>;
    if (b.kind !== undefined && b.kind !== 'DeleteOptions') {
      throw badRequest(`the kind in the body of a DELETE must be DeleteOptions, not ${String(b.kind)}`);
    }
    if (b.gracePeriodSeconds !== undefined && b.gracePeriodSeconds !== null) {
      opts.gracePeriodSeconds = checkGrace(b.gracePeriodSeconds);
    }
    if (b.propagationPolicy !== undefined && b.propagationPolicy !== null) {
      opts.propagationPolicy = checkPropagation(b.propagationPolicy);
    } else if (b.orphanDependents === true) opts.propagationPolicy = 'Orphan';
    if (b.preconditions !== undefined && b.preconditions !== null) {
      const p = b.preconditions as Record<string, unknown>;
      opts.preconditions = {};
      if (typeof p.resourceVersion === 'string') opts.preconditions.resourceVersion = p.resourceVersion;
      if (typeof p.uid === 'string') opts.preconditions.uid = p.uid;
    }
    if (b.dryRun !== undefined && b.dryRun !== null) opts.dryRun = dryRunOf(b.dryRun);
  }
  const grace = query.get('gracePeriodSeconds');
  if (grace !== null && grace !== '') {
    // Not an integer at all fails decoding (400); a negative one fails validation (422).
    if (!/^-?\d{1,15}$/.test(grace))
      throw badRequest(
        `invalid value for query parameter gracePeriodSeconds: "${grace}" (expected an integer)`,
      );
    opts.gracePeriodSeconds = checkGrace(Number(grace));
  }
  const prop = query.get('propagationPolicy');
  if (prop !== null && prop !== '') opts.propagationPolicy = checkPropagation(prop);
  else if (query.get('orphanDependents') === 'true') opts.propagationPolicy = 'Orphan';
  if (dryRunParam(query)) opts.dryRun = true;
  return opts;
}

function checkGrace(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw invalid('DeleteOptions', '', [
      {
        reason: 'FieldValueInvalid',
        field: 'gracePeriodSeconds',
        message: `Invalid value: ${JSON.stringify(v)}: must be >= 0`,
      },
    ]);
  }
  return v;
}

function checkPropagation(v: unknown): DeleteOptions['propagationPolicy'] {
  if (typeof v !== 'string' || !PROPAGATION.has(v)) {
    throw invalid('DeleteOptions', '', [
      {
        reason: 'FieldValueNotSupported',
        field: 'propagationPolicy',
        message: `Unsupported value: ${JSON.stringify(v)}: supported values: "Foreground", "Background", "Orphan"`,
      },
    ]);
  }
  return v as DeleteOptions['propagationPolicy'];
}

export /**
 * Reads the body, up to `max` bytes; beyond that it is 413 without keeping the rest. A body
 * announced (Content-Length) or sent far beyond the limit is refused without reading it all.
 */
function readBody(
  req: IncomingMessage,
  max: number,
  done: (err: ApiError | undefined, body?: Buffer) => void,
): void {
  const tooLarge = (size: number | string) =>
    new ApiError('RequestEntityTooLarge', `the request body is ${size} bytes, more than the limit of ${max}`);
  const announced = Number(req.headers['content-length'] ?? NaN);
  if (announced > 4 * max) {
    req.resume();
    return done(tooLarge(announced));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= max) chunks.push(c);
    else if (size > 4 * max && !finished) {
      finished = true;
      done(tooLarge(`more than ${size}`));
    }
  });
  req.on('end', () => {
    if (finished) return;
    finished = true;
    if (size > max) return done(tooLarge(size));
    done(undefined, chunks.length ? Buffer.concat(chunks) : undefined);
  });
  req.on('error', () => {
    finished = true;
  });
}
