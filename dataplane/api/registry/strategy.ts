/**
 * Per-kind behaviour of the registry, as upstream's "strategies": defaults, server-filled fields
 * (allocations), validation on create and update, what a status update may change, and the
 * release of allocations on delete. The generic registry (generic-registry.ts) calls these in order:
 *
 *   create: default -> prepareForCreate (allocate) -> validate -> store; on failure, rollbackCreate
 *   update: default -> prepareForUpdate -> validateUpdate -> store; on failure, rollbackUpdate
 *   delete: store -> afterDelete (release)
 *
 * Strategies get a private clone of the object and mutate it in place.
 */
import type { KubeObject, StatusCause } from '../types.ts';
import type { Allocators } from './allocators-interface.ts';

export interface StrategyContext {
  allocators: Allocators;
  /** Reads another object from the store (for cross-object checks). */
  get(gr: string, namespace: string, name: string): KubeObject | undefined;
}

export interface Strategy<T extends KubeObject = KubeObject> {
  /** Fill upstream's defaults (protocol TCP, type ClusterIP, ...). Runs on create and update. */
  default?(obj: T): void;
  /** Server-side fields on create, allocations first. May throw ApiError (e.g. IP in use). */
  prepareForCreate?(obj: T, ctx: StrategyContext): void;
  /** Undo prepareForCreate's allocations when the create did not happen. */
  rollbackCreate?(obj: T, ctx: StrategyContext): void;
  /** On a main-resource update: copy over immutable fields and status from `old`, allocate new ports. */
  prepareForUpdate?(obj: T, old: T, ctx: StrategyContext): void;
  /** Undo prepareForUpdate's new allocations when the update did not happen. */
  rollbackUpdate?(obj: T, old: T, ctx: StrategyContext): void;
  /** After an update is stored: release what `old` held and `obj` no longer does. */
  afterUpdate?(obj: T, old: T, ctx: StrategyContext): void;
  /** Field errors; empty means valid. Paths as upstream: `spec.ports[0].port`. */
  validate(obj: T, ctx: StrategyContext): StatusCause[];
  validateUpdate?(obj: T, old: T, ctx: StrategyContext): StatusCause[];
  /** For the status subresource: which part of `obj` is the status (default `status`). */
  statusFields?: string[];
  /** Whether a spec change bumps metadata.generation (kinds with a spec). */
  hasGeneration?: boolean;
  /** Release allocations once the object is gone. */
  afterDelete?(obj: T, ctx: StrategyContext): void;
}
