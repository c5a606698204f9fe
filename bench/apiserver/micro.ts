/**
 * tinybench microbenchmarks of the apiserver's hot paths, in this thread with no HTTP: Store
 * create/update (in memory and on SQLite), SQLite commits one write per transaction against a
 * group of 16 per transaction (is group commit worth it?), the dispatcher's whole create path
 * from request bytes to stored object, and label selector parsing and matching.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { matchRequirements, parseLabelSelector } from '../../dataplane/api/selectors.ts';
import type { PersistOp } from '../../dataplane/api/store/persistence.ts';
import { SqlitePersistence, type SqliteSynchronous } from '../../dataplane/api/store/sqlite.ts';
import { Store } from '../../dataplane/api/store/store.ts';
import { dispatcherCreateOp, service, storeCreateOp } from './hot-paths.ts';

export interface MicroResult {
  name: string;
  /** Mean time per operation, microseconds (for grouped tasks, per op in the group). */
  meanUs: number;
  p50Us: number;
  p99Us: number;
  opsPerSecond: number;
  samples: number;
}

const GROUP = 16;

/** A temp dir per task, removed when the task's iterations end. */
function tempFile(): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-micro-'));
  return { file: join(dir, 'state.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function addStoreTasks(bench: Bench): void {
  let store: Store;
  let n = 0;
  bench.add('Store.create (memory)', storeCreateOp());
  let flip = false;
  bench.add(
    'Store.update (memory)',
    () => {
      flip = !flip;
      store.update('services', service('u', flip ? 'a' : 'b'));
    },
    { beforeAll: () => void ((store = new Store()), store.create('services', service('u'))) },
  );
  for (const sync of ['NORMAL', 'FULL'] as SqliteSynchronous[]) {
    let tmp: ReturnType<typeof tempFile>;
    bench.add(`Store.create (SQLite ${sync})`, () => void store.create('services', service(`s-${n++}`)), {
      beforeAll: () => {
        tmp = tempFile();
        store = new Store({ persistence: new SqlitePersistence(tmp.file, { synchronous: sync }) });
      },
      afterAll: () => (store.close(), tmp.remove()),
    });
  }
}

/** The same puts, one transaction each against GROUP per transaction: what group commit would save. */
function addCommitTasks(bench: Bench): void {
  for (const sync of ['NORMAL', 'FULL'] as SqliteSynchronous[]) {
    let p: SqlitePersistence;
    let tmp: ReturnType<typeof tempFile>;
    let rv = 0;
    const put = (): PersistOp => {
      rv++;
      return {
        op: 'put',
        gr: 'services',
        namespace: 'default',
        name: `s-${rv}`,
        rv,
        object: service(`s-${rv}`),
      };
    };
    const hooks = {
      beforeAll: () => {
        tmp = tempFile();
        p = new SqlitePersistence(tmp.file, { synchronous: sync });
      },
      afterAll: () => (p.close(), tmp.remove()),
    };
    bench.add(`SQLite ${sync}: 1 write per commit`, () => p.write([put()]), hooks);
    bench.add(
      `SQLite ${sync}: ${GROUP} writes per commit`,
      () => p.write(Array.from({ length: GROUP }, put)),
      hooks,
    );
  }
}

function addSelectorTasks(bench: Bench): void {
  const labels = {
    app: 'web',
    tier: 'frontend',
    track: 'stable',
    'app.kubernetes.io/name': 'web',
    release: 'r12',
  };
  const equality = parseLabelSelector('app=web,tier!=db');
  const setBased = parseLabelSelector('app in (api,web),track notin (canary),!legacy,release');
  bench.add('label selector parse (set-based, 4 terms)', () =>
    parseLabelSelector('app in (api,web),track notin (canary),!legacy,release'),
  );
  bench.add('label selector match (equality, 2 terms)', () => {
    if (!matchRequirements(equality, labels)) throw new Error('expected a match');
  });
  bench.add('label selector match (set-based, 4 terms)', () => {
    if (!matchRequirements(setBased, labels)) throw new Error('expected a match');
  });
}

export async function runMicro(opts: { timeMs: number }): Promise<MicroResult[]> {
  const bench = new Bench({ time: opts.timeMs, warmupTime: Math.min(100, opts.timeMs), throws: true });
  addStoreTasks(bench);
  addCommitTasks(bench);
  bench.add('dispatcher create Service (bytes in, no HTTP)', dispatcherCreateOp());
  addSelectorTasks(bench);
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result;
    if (!r || r.error) throw new Error(`microbenchmark "${task.name}" failed: ${String(r?.error)}`);
    const perOp = task.name.includes(`${GROUP} writes per commit`) ? GROUP : 1;
    return {
      name: task.name,
      meanUs: (r.latency.mean * 1000) / perOp,
      p50Us: ((r.latency.p50 ?? NaN) * 1000) / perOp,
      p99Us: ((r.latency.p99 ?? NaN) * 1000) / perOp,
      // From the mean time, so a few slow samples (GC, fsync) count as much as they cost.
      opsPerSecond: (1000 / r.latency.mean) * perOp,
      samples: r.latency.samples.length,
    };
  });
}
