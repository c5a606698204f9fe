/** STUB (contract): ClusterIP and NodePort allocators. To be completed. */
import type { Allocators } from '../registry/allocators-interface.ts';
import type { Service } from '../types.ts';

export interface AllocatorOptions {
  serviceCIDR: string;
  nodePortRange: { first: number; last: number };
}

export interface RebuildableAllocators extends Allocators {
  /** Marks every ClusterIP and NodePort the given (stored) Services hold as used. */
  rebuild(services: readonly Service[]): void;
}

export function createAllocators(_opts: AllocatorOptions): RebuildableAllocators {
  throw new Error('not implemented');
}
