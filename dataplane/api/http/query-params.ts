/**
 * Query parameters of reads (get, list, watch) checked as upstream's ListOptions and GetOptions
 * decoding and validation do, before any work starts: booleans (`watch=maybe` is 400, not a list),
 * resource versions (kdp's are non-negative integers), resourceVersionMatch and its preconditions
 * (422 on ListOptions), limit and timeoutSeconds. Selectors are checked where they are compiled.
 */
import { badRequest, invalid } from '../errors.ts';
import type { StatusCause } from '../types.ts';

/** What Go's strconv.ParseBool accepts, as upstream's query decoding uses it. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const RV_MATCH = ['Exact', 'NotOlderThan'];

/** Whether a query value is one of Go's spellings of true. */
export function isGoTrue(raw: string | null): boolean {
  return raw !== null && TRUE.has(raw);
}

/** A boolean query parameter; undefined when absent or empty, 400 when not a Go boolean. */
export function boolParam(query: URLSearchParams, name: string): boolean | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw badRequest(
    `invalid value for query parameter ${name}: "${raw}": strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`,
  );
}

function checkInt(query: URLSearchParams, name: string): void {
  const raw = query.get(name);
  if (raw === null || raw === '') return;
  if (!/^\d{1,15}$/.test(raw)) {
    throw badRequest(`invalid value for query parameter ${name}: "${raw}" (expected a non-negative integer)`);
  }
}

/** Checks the parameters of a get, list or watch; throws 400 or 422 as upstream answers. */
export function checkReadParams(query: URLSearchParams): void {
  const watch = boolParam(query, 'watch') === true;
  boolParam(query, 'allowWatchBookmarks');
  boolParam(query, 'sendInitialEvents');
  checkInt(query, 'limit');
  checkInt(query, 'timeoutSeconds');
  const rv = query.get('resourceVersion') ?? '';
  if (rv !== '' && !/^\d{1,19}$/.test(rv)) {
    throw badRequest(`invalid resource version "${rv}": it must be a non-negative integer`);
  }
  const match = query.get('resourceVersionMatch') ?? '';
  const causes: StatusCause[] = [];
  const add = (reason: string, message: string) =>
    causes.push({ field: 'resourceVersionMatch', reason, message });
  if (match !== '') {
    if (!RV_MATCH.includes(match)) {
      add(
        'FieldValueNotSupported',
        `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
      );
    } else if (watch) add('FieldValueForbidden', 'Forbidden: resourceVersionMatch is forbidden for watch');
    else if (rv === '') {
      add(
        'FieldValueForbidden',
        'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      );
    } else if (match === 'Exact' && rv === '0') {
      add(
        'FieldValueForbidden',
        'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      );
    }
  }
  if (causes.length) throw invalid('ListOptions', '', causes, 'meta.k8s.io');
}
