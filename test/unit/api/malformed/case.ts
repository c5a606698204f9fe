/**
 * One malformed request and the answer it must get: the data shape of the malformed-request
 * suite. Cases live in cases-<topic>.ts files in this folder (each exports `cases`), and
 * malformed.test.ts sends every one of them to a real apiserver over HTTP.
 */
export interface MalformedCase {
  /** Unique, says what is sent; finding-named cases start with the finding, e.g. 'crash: merge patch __proto__ in labels'. */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Raw request path with query, sent byte for byte (may hold %2e%2e etc.). */
  path: string;
  contentType?: string;
  /** A string or Buffer is sent as is; anything else is JSON.stringify'd. */
  body?: unknown;
  /** Objects to create first (through the normal API) so the case has something to hit. */
  setup?: { path: string; body: unknown }[];
  /** Expected HTTP status and Status.reason (e.g. 400 'BadRequest', 422 'Invalid', 404 'NotFound'). */
  status: number;
  reason?: string;
  /** After the case: a GET that must be 404 (nothing stored) or a predicate on the stored object. */
  notStored?: string;
}
