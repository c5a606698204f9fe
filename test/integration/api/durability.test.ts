/**
 * Kill -9 durability of `kdp apiserver --data-dir`: the real apiserver in a child process takes a
 * stream of Service creates, patches and deletes over HTTP from several lanes at once, is killed
 * with SIGKILL at a random point while requests are in flight, and is restarted on the same data
 * dir. Every write it acknowledged must be there after the restart (a write still in flight at the
 * kill may or may not be), and resourceVersions must keep increasing above every one it handed
 * out, deletions included. Several kill/restart rounds run on one data dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { seededRandom } from '../../../bench/lib/stats.ts';
import { fetchWith } from '../../fixtures/api-fetch.ts';

const KDP = join(import.meta.dirname, '..', '..', '..', 'bin', 'kdp');
const SERVICES = '/api/v1/namespaces/default/services';
const ROUNDS = 3;
const LANES = 8;
const OPS_PER_ROUND = 400;
/** The running server's CA and local token (a new token at each start; the CA is kept). */
let credentials: { ca: string; token: string } | undefined;

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** Starts `kdp apiserver` and waits (bounded) for the line saying where it listens. */
async function startApiserver(dir: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      KDP,
      'apiserver',
      '--data-dir',
      join(dir, 'data'),
      '--state-dir',
      join(dir, 'state'),
      '--socket',
      'none',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kdp apiserver did not start within 30 s: ${stderr}`));
    }, 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line) as { url: string; tokenFile: string };
      credentials = {
        ca: readFileSync(join(dir, 'state', 'pki', 'ca.crt'), 'utf8'),
        token: readFileSync(info.tokenFile, 'utf8').trim(),
      };
      resolve(info.url);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`kdp apiserver exited at start (code ${child.exitCode}): ${stderr}`));
    });
  });
  return { child, url, exited };
}

async function killHard(r: Running): Promise<void> {
  r.child.kill('SIGKILL');
  await r.exited;
}

interface Answer {
  status: number;
  body: { metadata?: { resourceVersion?: string; labels?: Record<string, string> }; [k: string]: unknown };
}

async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<Answer> {
  const res = await fetchWith(url + path, {
    ...credentials,
    method,
    headers: body === undefined ? {} : { 'content-type': contentType ?? 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** What one object should look like: absent, or present with this step label (and RV when known). */
interface Expect {
  exists: boolean;
  step?: string;
  rv?: string;
}

/** Per object: its state as of the last acknowledged write, and the outcome of a write in flight. */
interface Tracked {
  acked: Expect;
  inFlight?: Expect;
}

class Workload {
  readonly objects = new Map<string, Tracked>();
  maxAckedRV = 0;
  private nextId = 0;

  constructor(private readonly rand: () => number) {}

  /** One lane: create, patch a label, maybe delete, next object; until the server dies or `budget` ends. */
  async lane(
    url: string,
    budget: { left: number; acked: number; killAt: number; kill: () => void },
  ): Promise<void> {
    while (budget.left-- > 0) {
      const name = `d-${this.nextId++}`;
      const t: Tracked = { acked: { exists: false } };
      this.objects.set(name, t);
      const steps: { expect: Expect; send: () => Promise<Answer> }[] = [
        {
          expect: { exists: true, step: '0' },
          send: () =>
            call(url, 'POST', SERVICES, {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name, labels: { step: '0' } },
              spec: { ports: [{ port: 80, protocol: 'TCP' }] },
            }),
        },
        {
          expect: { exists: true, step: '1' },
          send: () =>
            call(
              url,
              'PATCH',
              `${SERVICES}/${name}`,
              { metadata: { labels: { step: '1' } } },
              'application/merge-patch+json',
            ),
        },
      ];
      if (this.rand() < 0.5)
        steps.push({ expect: { exists: false }, send: () => call(url, 'DELETE', `${SERVICES}/${name}`) });
      for (const step of steps) {
        t.inFlight = step.expect;
        let answer: Answer;
        try {
          answer = await step.send();
        } catch {
          return; // the server is gone: this write stays "in flight", unacknowledged
        }
        assert.ok(
          answer.status >= 200 && answer.status < 300,
          `${name}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`,
        );
        const rv = answer.body.metadata?.resourceVersion;
        assert.ok(rv, `${name}: no resourceVersion in ${JSON.stringify(answer.body)}`);
        this.maxAckedRV = Math.max(this.maxAckedRV, Number(rv));
        t.acked = { ...step.expect, rv: step.expect.exists ? rv : undefined };
        t.inFlight = undefined;
        if (++budget.acked === budget.killAt) budget.kill();
      }
    }
  }

  /** Checks the restarted server against every acknowledged write; returns how many were checked. */
  async verify(url: string): Promise<number> {
    const list = await call(url, 'GET', SERVICES);
    assert.equal(list.status, 200);
    const items = list.body.items as {
      metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
      spec?: { clusterIP?: string };
    }[];
    const ips = items.map((o) => o.spec?.clusterIP).filter((ip) => ip && ip !== 'None');
    assert.equal(new Set(ips).size, ips.length, 'after the restart a ClusterIP is held by two Services');
    const found = new Map(
      items.filter((o) => o.metadata.name.startsWith('d-')).map((o) => [o.metadata.name, o]),
    );
    assert.ok(
      Number(list.body.metadata!.resourceVersion) >= this.maxAckedRV,
      `list RV ${list.body.metadata!.resourceVersion} is below an acknowledged RV ${this.maxAckedRV}`,
    );
    for (const name of found.keys())
      assert.ok(this.objects.has(name), `${name} is stored but was never written`);
    for (const [name, t] of this.objects) {
      const o = found.get(name);
      const actual: Expect = o
        ? { exists: true, step: o.metadata.labels?.step, rv: o.metadata.resourceVersion }
        : { exists: false };
      const matches = (e: Expect | undefined) =>
        e !== undefined &&
        e.exists === actual.exists &&
        (!e.exists || (e.step === actual.step && (!e.rv || e.rv === actual.rv)));
      assert.ok(
        matches(t.acked) || matches(t.inFlight),
        `${name}: after the restart ${JSON.stringify(actual)}; last acknowledged ${JSON.stringify(t.acked)}` +
          (t.inFlight ? `, in flight ${JSON.stringify(t.inFlight)}` : ''),
      );
      // Whatever the outcome, the object is now settled: the next round starts from what is stored.
      t.acked = actual;
      t.inFlight = undefined;
    }
    return this.objects.size;
  }
}

test(
  'every acknowledged write survives kill -9 of kdp apiserver, and RVs keep increasing',
  { timeout: 240_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-durability-'));
    let running: Running | undefined;
    t.after(async () => {
      if (running) await killHard(running);
      rmSync(dir, { recursive: true, force: true });
    });
    const seed = Number(process.env.KDP_DURABILITY_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (KDP_DURABILITY_SEED=${seed} reuses the kill points and the write mix)`);
    const rand = seededRandom(seed);
    const work = new Workload(rand);

    running = await startApiserver(dir);
    for (let round = 0; round < ROUNDS; round++) {
      const server: Running = running;
      // Kill after a random number of acknowledged writes, from inside the response handler, so
      // the other lanes' requests are in flight at that moment.
      const budget = {
        left: OPS_PER_ROUND,
        acked: 0,
        killAt: 20 + Math.floor(rand() * OPS_PER_ROUND),
        kill: () => server.child.kill('SIGKILL'),
      };
      await Promise.all(Array.from({ length: LANES }, () => work.lane(server.url, budget)));
      assert.ok(
        budget.acked >= budget.killAt,
        `round ${round}: only ${budget.acked} writes acknowledged before the kill`,
      );
      await killHard(server);
      assert.equal(server.child.signalCode, 'SIGKILL');

      running = await startApiserver(dir);
      const checked = await work.verify(running.url);
      t.diagnostic(
        `round ${round}: killed after ${budget.killAt} acknowledged writes; ${checked} objects checked`,
      );

      // RVs continue above every one handed out before the kill, deletions included.
      const probe = await call(running.url, 'POST', SERVICES, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `probe-${round}` },
        spec: { ports: [{ port: 80, protocol: 'TCP' }] },
      });
      assert.equal(probe.status, 201);
      const probeRV = Number(probe.body.metadata!.resourceVersion);
      assert.ok(
        probeRV > work.maxAckedRV,
        `RV ${probeRV} after restart is not above ${work.maxAckedRV} handed out before`,
      );
      work.maxAckedRV = probeRV;
    }
    // The file itself is sound after the kills (checked once the last server is gone).
    await killHard(running);
    running = undefined;
    const db = new Database(join(dir, 'data', 'state.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  },
);
