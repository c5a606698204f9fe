/**
 * Where the store keeps objects across restarts. The in-memory store works without one; with
 * `--data-dir` the apiserver uses the SQLite implementation (sqlite.ts). `write` must make the
 * change durable against a process kill before it returns: the store answers the client only
 * after it.
 */
import type { KubeObject } from '../types.ts';

export type PersistOp =
  | { op: 'put'; gr: string; namespace: string; name: string; rv: number; object: KubeObject }
  | { op: 'delete'; gr: string; namespace: string; name: string; rv: number };

export interface LoadedState {
  objects: { gr: string; namespace: string; name: string; object: KubeObject }[];
  /** The highest resourceVersion ever written, including deletions: new writes continue above it. */
  lastRV: number;
}

export interface Persistence {
  load(): LoadedState;
  write(ops: PersistOp[]): void;
  close(): void;
}
