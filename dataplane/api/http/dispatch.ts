/** STUB (contract): routes an ApiRequest to the registry. To be completed. */
import type { Registry } from '../registry/registry.ts';
import type { ApiRequest, ApiResult } from './dispatch-types.ts';

export interface DispatcherOptions {
  /** Default watch timeout when the client gives none (seconds). */
  watchTimeoutSeconds?: number;
  /** Largest request body accepted, bytes; larger is 413. */
  maxBodyBytes?: number;
}

export type Dispatcher = (req: ApiRequest) => ApiResult;

export function createDispatcher(_registry: Registry, _opts: DispatcherOptions = {}): Dispatcher {
  throw new Error('not implemented');
}
