/**
 * Durable Persistence on SQLite (better-sqlite3), for `kdp apiserver --data-dir`. The store keeps
 * every object in memory and reads this file only at start; what it needs from disk is that each
 * acknowledged write survives a kill -9, and that resourceVersions keep increasing across restarts.
 *
 * Shape, in the spirit of k3s's kine on SQLite but simpler (kdp keeps no history on disk, the
 * watch window lives in memory): one table of current objects keyed by (gr, namespace, name), and
 * a meta table holding the highest resourceVersion ever written. Deletions bump that too, so a
 * restart after a delete still continues above the delete's resourceVersion, and a client's
 * cached resourceVersion never comes back meaning something else.
 *
 * Durability: WAL journal. With synchronous=NORMAL a commit is a write() into the WAL file without
 * fsync: the bytes are in the kernel's page cache when write() returns, so they survive the
 * process being killed (kill -9, OOM, crash) but not a power cut or kernel panic, which may roll
 * back the last commits (the database stays consistent). With synchronous=FULL every commit also
 * fsyncs the WAL, which survives power loss but costs a disk flush per write. kdp is an emulator
 * whose data dir outlives process restarts, not machine failures, and persistence.ts asks for
 * durability against a process kill, so NORMAL is the default; FULL is an option.
 *
 * No group commit: every write() is its own transaction. Measured (bench/apiserver, micro), a
 * NORMAL commit costs ~10 µs at the median and ~20-25 µs of CPU, next to ~100 µs of server CPU
 * for a whole create over HTTP, so batching 16 writes per commit would save a create at most
 * ~15%. Under FULL it would save ~10x (one fsync per batch), but only by answering writes
 * asynchronously once their batch commits, which the synchronous Store does not do.
 *
 * The file is opened with an exclusive lock held until close, so two apiservers on one data dir
 * fail fast instead of silently diverging (and WAL needs no shared-memory file then). The file
 * and its WAL are 0600 whatever the umask or the mode of the data directory: they hold every object.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KdpError } from '../../errors.ts';
import type { KubeObject } from '../types.ts';
import type { LoadedState, PersistOp, Persistence } from './persistence.ts';

export type SqliteSynchronous = 'NORMAL' | 'FULL';

export interface SqliteOptions {
  /** NORMAL (default): durable against a process kill. FULL: also against power loss, slower. */
  synchronous?: SqliteSynchronous;
  /** How long to wait for another process's lock on the file before giving up, ms. */
  lockTimeoutMs?: number;
}

/** Marks the file as kdp's (PRAGMA application_id): the bytes "kdp" and 0x01. */
const KDP_APPLICATION_ID = 0x6b647001;
/** PRAGMA user_version: bump when the schema changes, and teach open() to migrate. */
export const SCHEMA_VERSION = 1;

// objects is an ordinary rowid table (its key is an index beside it): rows are whole objects of
// 0.5-5 KB, well above the twentieth of a page where WITHOUT ROWID pays off, and measured so it
// costs a few µs less CPU per write than WITHOUT ROWID.
const SCHEMA = `
  CREATE TABLE objects (
    gr TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rv INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (gr, namespace, name)
  );
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('last_rv', 0);
  PRAGMA application_id = ${KDP_APPLICATION_ID};
  PRAGMA user_version = ${SCHEMA_VERSION};
`;

interface ObjectRow {
  gr: string;
  namespace: string;
  name: string;
  rv: number;
  json: string;
}

export class SqlitePersistence implements Persistence {
  readonly synchronous: SqliteSynchronous;
  private db: Database.Database | undefined;
  private readonly apply: (ops: PersistOp[]) => void;

  constructor(
    readonly file: string,
    opts: SqliteOptions = {},
  ) {
    this.synchronous = opts.synchronous ?? 'NORMAL';
    const db = openDatabase(file, this.synchronous, opts.lockTimeoutMs ?? 200);
    this.db = db;
    const put = db.prepare(
      `INSERT INTO objects (gr, namespace, name, rv, json) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (gr, namespace, name) DO UPDATE SET rv = excluded.rv, json = excluded.json`,
    );
    const del = db.prepare('DELETE FROM objects WHERE gr = ? AND namespace = ? AND name = ?');
    const bumpRV = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'last_rv'`);
    // One transaction per write(): the ops and the new last RV commit together or not at all.
    this.apply = db.transaction((ops: PersistOp[]) => {
      let maxRV = 0;
      for (const op of ops) {
        if (op.op === 'put') put.run(op.gr, op.namespace, op.name, op.rv, JSON.stringify(op.object));
        else del.run(op.gr, op.namespace, op.name);
        if (op.rv > maxRV) maxRV = op.rv;
      }
      bumpRV.run(maxRV);
    });
  }

  load(): LoadedState {
    const db = this.open();
    const rows = db.prepare('SELECT gr, namespace, name, rv, json FROM objects').all() as ObjectRow[];
    const lastRV = (db.prepare(`SELECT value FROM meta WHERE key = 'last_rv'`).pluck().get() as number) ?? 0;
    let highest = lastRV;
    const objects = rows.map((row) => {
      let object: KubeObject;
      try {
        object = JSON.parse(row.json) as KubeObject;
      } catch (e) {
        throw new KdpError(
          'KDP_ERR_STORE_CORRUPT',
          `${this.file}: stored object ${row.gr} ${row.namespace}/${row.name} is not valid JSON; ` +
            'restore the data dir from a backup or start with an empty one',
          { cause: e },
        );
      }
      if (row.rv > highest) highest = row.rv;
      return { gr: row.gr, namespace: row.namespace, name: row.name, object };
    });
    return { objects, lastRV: highest };
  }

  write(ops: PersistOp[]): void {
    this.open();
    if (!ops.length) return;
    try {
      this.apply(ops);
    } catch (e) {
      const why = `${this.file}: writing to the store failed: ${errorText(e)}`;
      throw new KdpError('KDP_ERR_STORE_WRITE', why, { cause: e });
    }
  }

  close(): void {
    const db = this.db;
    this.db = undefined;
    db?.close();
  }

  private open(): Database.Database {
    if (!this.db) throw new KdpError('KDP_ERR_STORE_CLOSED', `${this.file}: the store is closed`);
    return this.db;
  }
}

function openDatabase(
  file: string,
  synchronous: SqliteSynchronous,
  lockTimeoutMs: number,
): Database.Database {
  const fail = (why: string, cause?: unknown): never => {
    throw new KdpError('KDP_ERR_STORE_OPEN', `cannot open the kdp store ${file}: ${why}`, {
      cause,
      details: { path: file },
    });
  };
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    fail(`cannot create its directory: ${errorText(e)}`, e);
  }
  try {
    // Created here, not by SQLite, so it is 0600 whatever the umask (SQLite would use 0644); its
    // WAL then gets the same mode, as SQLite gives a journal its database's permissions.
    closeSync(openSync(file, 'wx', 0o600));
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') fail(`cannot create it: ${errorText(e)}`, e);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: lockTimeoutMs });
    // Before WAL is switched on, so the WAL keeps its index in process memory (no -shm file).
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') fail(`SQLite could not switch it to WAL mode (still "${String(mode)}")`);
    db.pragma(`synchronous = ${synchronous}`);
    // Takes the write lock now (kept until close, see above) and checks or creates the schema.
    db.exec('BEGIN IMMEDIATE');
    checkOrCreateSchema(db, fail);
    db.exec('COMMIT');
    // Only now that the file is known to be kdp's: a store from before this rule, or one whose
    // mode was changed, is made private again, with its WAL.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof KdpError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_BUSY') fail('another process (another kdp apiserver?) has it open', e);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      fail('it is not a kdp database (not SQLite)', e);
    return fail(errorText(e), e);
  }
}

function checkOrCreateSchema(db: Database.Database, fail: (why: string) => never): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId === 0) {
    const tables = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
    if (tables > 0)
      fail('it is an SQLite database, but not a kdp one; point --data-dir at another directory');
    db.exec(SCHEMA);
    return;
  }
  if (appId !== KDP_APPLICATION_ID) fail(`it is an SQLite database of another application (id ${appId})`);
  if (version !== SCHEMA_VERSION) {
    fail(
      version > SCHEMA_VERSION
        ? `it has schema version ${version}, written by a newer kdp; this kdp reads version ${SCHEMA_VERSION}`
        : `it has schema version ${version}, which this kdp (version ${SCHEMA_VERSION}) cannot read`,
    );
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
