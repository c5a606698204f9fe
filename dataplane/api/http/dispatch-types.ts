/**
 * The transport-neutral shape of an API request and its result. The HTTP server turns node's
 * requests into ApiRequest and ApiResult into bytes; the in-process client transport calls the
 * same dispatcher directly, so both see exactly the same behaviour.
 */
import type { UserInfo } from '../auth/authenticator.ts';
import type { WatchEvent } from '../types.ts';

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  /** The URL path, without the query string, e.g. /api/v1/namespaces/default/services/web */
  path: string;
  query: URLSearchParams;
  /** Content-Type of the body (patch type for PATCH). */
  contentType?: string;
  /** Accept header; `as=Table` asks for server-side printing as kubectl does. */
  accept?: string;
  /** Raw bytes from HTTP, or an already-parsed object from an in-process caller. */
  body?: Buffer | unknown;
  /** Who sent it, when the server authenticated it (absent in-process and in the insecure mode). */
  user?: UserInfo;
}

export interface WatchResult {
  kind: 'watch';
  /** Seconds after which the server ends the watch (timeoutSeconds, or the server's default). */
  timeoutSeconds: number;
  allowBookmarks: boolean;
  /**
   * Starts the watch: `emit` is called for the initial events (if any) and every later change,
   * synchronously from the store's write path, so it must only queue or write. Throws ApiError
   * (410 Expired) when the requested resourceVersion is too old. Returns the stop function.
   */
  start(emit: (ev: WatchEvent) => void): () => void;
  /** The current resourceVersion, for BOOKMARK events. */
  currentResourceVersion(): string;
  /** Kind and apiVersion of the watched objects, which a BOOKMARK event's object carries. */
  objectKind?: { kind: string; apiVersion: string };
  /** Turns each event's object into what the client asked for (e.g. a Table row). */
  transform?(ev: WatchEvent): WatchEvent;
}

export type ApiResult =
  /** `warnings` become `Warning: 299` headers (e.g. unknown fields under fieldValidation=Warn). */
  | { kind: 'object'; status: number; body: unknown; warnings?: string[] }
  /** Plain text (health checks) or bytes (the protobuf OpenAPI document). */
  | { kind: 'text'; status: number; body: string | Buffer; contentType: string }
  | WatchResult;
