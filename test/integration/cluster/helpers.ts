/**
 * Shared by the cluster integration tests (root): unique cluster names, a check that nothing of a
 * cluster is left (namespaces under its prefix, processes titled kdp:<cluster>:, /run/kdp/<cluster>),
 * a wrapper that requires the host's root namespace to be identical before and after, an HTTP GET
 * from inside a pod with node (no curl needed), and bin/kdp as a child process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { processTitle } from '../../../dataplane/cluster/cleanup-processes.ts';
import { clusterNamespaces, knownClusters } from '../../../dataplane/cluster/cleanup.ts';
import { stateDir } from '../../../dataplane/cluster/topology-names.ts';
import { diffSnapshots, snapshotRoot } from '../helpers/root-snapshot.ts';

export const KDP_BIN = fileURLToPath(new URL('../../../bin/kdp', import.meta.url));

export function uniqueCluster(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

/** What is left of a cluster; empty lists when nothing. */
export function leftovers(cluster: string): { namespaces: string[]; processes: string[]; stateDir: boolean } {
  let namespaces: string[] = [];
  try {
    // Prefix matching, minus namespaces of a running cluster whose name extends this one's.
    namespaces = clusterNamespaces(readdirSync('/run/netns'), cluster, knownClusters());
  } catch {
    // no /run/netns at all
  }
  const processes = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((pid) => `${pid} ${processTitle(Number(pid)) ?? ''}`)
    .filter((p) => p.includes(` kdp:${cluster}:`));
  return { namespaces, processes, stateDir: existsSync(stateDir(cluster)) };
}

export function assertNothingLeft(cluster: string): void {
  assert.deepEqual(leftovers(cluster), { namespaces: [], processes: [], stateDir: false });
}

/** Runs `body` and requires the root namespace unchanged afterwards; always removes `cluster`. */
export async function withRootUnchanged(
  t: TestContext,
  cluster: string,
  body: () => Promise<void>,
): Promise<void> {
  const before = await snapshotRoot();
  let failure: unknown;
  try {
    await body();
  } catch (e) {
    failure = e;
  }
  const left = leftovers(cluster);
  if (left.namespaces.length || left.processes.length || left.stateDir) {
    // Never leave a failed test's cluster on the machine.
    await kdp(['cleanup', '--name', cluster]).catch(() => {});
  }
  const diff = diffSnapshots(before, await snapshotRoot());
  if (failure !== undefined) {
    t.diagnostic(`left after the failure: ${JSON.stringify(left)}; root diff: ${diff.join('\n')}`);
    throw failure;
  }
  assert.deepEqual(
    left,
    { namespaces: [], processes: [], stateDir: false },
    'the cluster left something behind',
  );
  assert.deepEqual(diff, [], 'the host root namespace changed');
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kdp(
  args: string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      KDP_BIN,
      args,
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

const HTTP_GET = `
const [ip, port] = process.argv.slice(1);
require('node:http').get({ host: ip, port: Number(port), timeout: 3000, agent: false }, (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => { process.stdout.write(body.trim()); process.exit(0); });
}).on('error', (e) => { console.error(e.message); process.exit(1); })
  .on('timeout', function () { this.destroy(new Error('timeout')); });
`;

/** GET http://ip:port/ from inside pod `from`; the body (kdp/http answers with its pod name). */
export async function httpFrom(cluster: Cluster, from: string, ip: string, port = 8080): Promise<string> {
  const r = await cluster.exec(from, [process.execPath, '-e', HTTP_GET, ip, String(port)], {
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `GET ${ip}:${port} from ${from} failed: ${r.stderr}`);
  return r.stdout;
}

/** A Service `web` (port 80 -> 8080) and one kdp/http Pod behind it on node-2, for `kdp apply -f -`. */
export const WEB_MANIFEST = `
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-a
  labels: {app: web}
spec:
  nodeName: node-2
  containers:
  - name: http
    image: kdp/http
    ports: [{containerPort: 8080}]
`;
