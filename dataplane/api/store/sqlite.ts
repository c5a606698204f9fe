/** STUB (contract): durable Persistence on SQLite (better-sqlite3). To be completed. */
import type { LoadedState, PersistOp, Persistence } from './persistence.ts';

export class SqlitePersistence implements Persistence {
  constructor(readonly file: string) {}
  load(): LoadedState {
    throw new Error('not implemented');
  }
  write(_ops: PersistOp[]): void {
    throw new Error('not implemented');
  }
  close(): void {}
}
