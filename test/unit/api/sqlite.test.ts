/**
 * SqlitePersistence through a real Store: what was written comes back after a reopen, the
 * resourceVersion continues above the highest one ever written (deletions included), and files
 * that are not a kdp store are refused with KDP_ERR_STORE_OPEN instead of being overwritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isKdpError } from '../../../dataplane/errors.ts';
import {
  SCHEMA_VERSION,
  SqlitePersistence,
  type SqliteOptions,
} from '../../../dataplane/api/store/sqlite.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { KubeObject } from '../../../dataplane/api/types.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openStore(file: string, opts?: SqliteOptions): Store {
  return new Store({ persistence: new SqlitePersistence(file, opts) });
}

function service(name: string, port: number, namespace = 'default'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: `uid-${name}`, labels: { app: name } },
    spec: { ports: [{ port, protocol: 'TCP' }] },
  };
}

function node(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}` } };
}

function assertStoreOpenError(fn: () => unknown, path: string, why: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isKdpError(e, 'KDP_ERR_STORE_OPEN'), `expected KDP_ERR_STORE_OPEN, got ${String(e)}`);
    assert.equal(e.details?.path, path);
    assert.match(e.message, why);
    return true;
  });
}

test('objects written through the store come back after a reopen, with the RV continuing', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const s1 = openStore(file);
  s1.create('services', service('web', 80));
  s1.create('services', service('db', 5432));
  s1.create('services', service('gone', 1, 'other'));
  s1.create('nodes', node('n1'));
  const web = s1.get('services', 'default', 'web')!;
  const updated = s1.update('services', { ...web, spec: { ports: [{ port: 8080, protocol: 'TCP' }] } });
  s1.delete('services', 'other', 'gone');
  const lastRV = s1.resourceVersion;
  assert.equal(lastRV, 6);
  const before = s1.list('services').items;
  s1.close();

  const s2 = openStore(file);
  assert.equal(s2.resourceVersion, lastRV);
  assert.deepEqual(s2.list('services').items, before);
  assert.deepEqual(s2.get('services', 'default', 'web'), updated);
  assert.equal(
    s2.get('services', 'default', 'web')!.metadata.resourceVersion,
    updated.metadata.resourceVersion,
  );
  assert.equal(s2.get('services', 'other', 'gone'), undefined);
  assert.deepEqual(
    s2.list('nodes').items.map((o) => o.metadata.name),
    ['n1'],
  );
  const next = s2.create('services', service('cache', 6379));
  assert.equal(next.metadata.resourceVersion, String(lastRV + 1));
  s2.close();
});

test('the RV continues above a deletion that was the last write before the restart', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const s1 = openStore(file);
  s1.create('services', service('a', 80));
  s1.create('services', service('b', 81));
  s1.delete('services', 'default', 'b');
  s1.delete('services', 'default', 'a');
  const deleteRV = s1.resourceVersion;
  assert.equal(deleteRV, 4);
  s1.close();

  const s2 = openStore(file);
  assert.equal(s2.count('services'), 0);
  assert.equal(s2.resourceVersion, deleteRV);
  assert.equal(s2.create('services', service('a', 80)).metadata.resourceVersion, String(deleteRV + 1));
  s2.close();
});

test('a no-op update writes nothing and keeps the stored RV', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const s1 = openStore(file);
  const a = s1.create('services', service('a', 80));
  s1.update('services', a);
  s1.close();
  const s2 = openStore(file);
  assert.equal(s2.resourceVersion, 1);
  s2.close();
});

test('synchronous=FULL stores and reloads the same way', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const p = new SqlitePersistence(file, { synchronous: 'FULL' });
  assert.equal(p.synchronous, 'FULL');
  const s1 = new Store({ persistence: p });
  s1.create('services', service('a', 80));
  s1.close();
  const s2 = openStore(file);
  assert.equal(s2.get('services', 'default', 'a')?.metadata.resourceVersion, '1');
  s2.close();
});

test('the data directory is created with mode 0700', (t) => {
  const dir = join(tempDir(t), 'data', 'nested');
  const p = new SqlitePersistence(join(dir, 'kdp.db'));
  p.close();
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, '..')).mode & 0o777, 0o700);
});

for (const umask of [0o000, 0o022]) {
  test(`state.db and its WAL are 0600 in a 0755 directory with umask ${umask.toString(8).padStart(3, '0')}`, (t) => {
    const dir = join(tempDir(t), 'open');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = join(dir, 'state.db');
    const old = process.umask(umask);
    let store: Store;
    try {
      store = openStore(file);
      store.create('services', service('a', 80));
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(dir).mode & 0o777, 0o755, 'the directory is left as it was');
    assert.ok(existsSync(`${file}-wal`), 'the WAL exists while the store is open');
    for (const f of [file, `${file}-wal`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.equal(existsSync(`${file}-shm`), false, 'no shared-memory file with the exclusive lock');
    store.close();
  });
}

test('a store written before the 0600 rule (0644 files) is made private when opened', (t) => {
  const file = join(tempDir(t), 'state.db');
  openStore(file).close();
  chmodSync(file, 0o644);
  const store = openStore(file);
  store.create('services', service('a', 80));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
  store.close();
});

test('a file that is not SQLite is refused with KDP_ERR_STORE_OPEN', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  writeFileSync(file, 'this is not a database, only text that happens to be here\n'.repeat(200));
  assertStoreOpenError(() => new SqlitePersistence(file), file, /not a kdp database/);
});

test('an SQLite database of someone else is refused and left untouched', (t) => {
  const file = join(tempDir(t), 'other.db');
  const other = new Database(file);
  other.exec(
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts VALUES (1, 'x')",
  );
  other.close();
  assertStoreOpenError(() => new SqlitePersistence(file), file, /not a kdp one/);
  const again = new Database(file);
  assert.equal(again.prepare('SELECT count(*) FROM accounts').pluck().get(), 1);
  assert.equal(again.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'objects'").pluck().get(), 0);
  again.close();
});

test('a kdp store with another schema version is refused', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  new SqlitePersistence(file).close();
  const raw = new Database(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assertStoreOpenError(() => new SqlitePersistence(file), file, /schema version \d+, written by a newer kdp/);
});

test('a stored object that is not JSON fails the load with KDP_ERR_STORE_CORRUPT', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const s1 = openStore(file);
  s1.create('services', service('a', 80));
  s1.close();
  const raw = new Database(file);
  raw.prepare("UPDATE objects SET json = '{not json' WHERE name = 'a'").run();
  raw.close();
  assert.throws(
    () => openStore(file),
    (e: unknown) => isKdpError(e, 'KDP_ERR_STORE_CORRUPT') && /services default\/a/.test(e.message),
  );
});

test('a second opener of the same file is refused while the first has it', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const first = new SqlitePersistence(file);
  assertStoreOpenError(() => new SqlitePersistence(file, { lockTimeoutMs: 10 }), file, /another process/);
  first.close();
  new SqlitePersistence(file).close();
});

test('a path that cannot be created is KDP_ERR_STORE_OPEN', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plain-file'), '');
  const file = join(dir, 'plain-file', 'kdp.db');
  assertStoreOpenError(() => new SqlitePersistence(file), file, /cannot create its directory/);
});

test('writes after close fail with KDP_ERR_STORE_CLOSED, and close is idempotent', (t) => {
  const file = join(tempDir(t), 'kdp.db');
  const p = new SqlitePersistence(file);
  p.close();
  p.close();
  assert.throws(
    () => p.write([{ op: 'delete', gr: 'services', namespace: 'default', name: 'a', rv: 1 }]),
    (e: unknown) => isKdpError(e, 'KDP_ERR_STORE_CLOSED'),
  );
});
