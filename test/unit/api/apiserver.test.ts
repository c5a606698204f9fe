// ApiServer.start as a whole: what a fresh cluster has, the kubeconfig it writes, the socket's
// mode and a stale socket file left by a killed server, a restart from the data dir (objects and
// allocations kept), and an idempotent close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ApiServer, firstServiceIP } from '../../../dataplane/api/apiserver.ts';
import { apiFetch } from '../../fixtures/api-fetch.ts';
import { ApiError } from '../../../dataplane/api/errors.ts';
import { findResource } from '../../../dataplane/api/resources.ts';

const SERVICES = findResource('', 'services')!;
const LISTEN_AND_WAIT = "require('net').createServer().listen(process.argv[1], () => console.log('up'))";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kdp-apiserver-'));
}

test('a fresh server has the system namespaces and the kubernetes Service on the first service IP', async () => {
  const dir = tempDir();
  await using server = await ApiServer.start({ stateDir: dir, serviceCIDR: '10.100.0.0/20' });
  const ns = server.store.list('namespaces').items.map((o) => o.metadata.name);
  assert.deepEqual(ns.sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  const k = server.registry.get(SERVICES, 'default', 'kubernetes') as any;
  assert.equal(k.spec.clusterIP, '10.100.0.1');
  assert.deepEqual(
    k.spec.ports.map((p: any) => [p.name, p.port]),
    [['https', 443]],
  );
  assert.equal(firstServiceIP('10.96.0.0/16'), '10.96.0.1');
  rmSync(dir, { recursive: true, force: true });
});

test('the kubeconfig points at the HTTPS server, carries the CA and the admin certificate, and is private', async () => {
  const dir = tempDir();
  const server = await ApiServer.start({ stateDir: dir });
  try {
    assert.equal(server.kubeconfigPath, join(dir, 'kubeconfig'));
    assert.equal(statSync(server.kubeconfigPath).mode & 0o777, 0o600);
    const kc = parseYaml(readFileSync(server.kubeconfigPath, 'utf8'));
    assert.equal(kc['current-context'], 'kdp');
    assert.equal(kc.clusters[0].cluster.server, server.url);
    assert.match(server.url!, /^https:\/\/127\.0\.0\.1:\d+$/);
    const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    assert.equal(pem(kc.clusters[0].cluster['certificate-authority-data']), server.credentials!.ca);
    assert.equal(kc.clusters[0].cluster['insecure-skip-tls-verify'], undefined);
    assert.equal(pem(kc.users[0].user['client-certificate-data']), server.credentials!.admin.cert);
    assert.match(pem(kc.users[0].user['client-key-data']), /BEGIN PRIVATE KEY/);
    assert.equal(kc.users[0].user.token, undefined);
    assert.equal(kc.contexts[0].context.namespace, 'default');
    assert.equal((await apiFetch(server, '/api/v1/namespaces')).status, 200);
  } finally {
    await server.close();
    await server.close(); // idempotent
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the unix socket is 0600, answers, and a stale socket file from a killed server is replaced', async () => {
  const dir = tempDir();
  const socketPath = join(dir, 'api.sock');
  // A socket file nobody listens on, as a SIGKILLed server leaves behind.
  const child = spawn(process.execPath, ['-e', LISTEN_AND_WAIT, socketPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((r) => child.stdout.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(existsSync(socketPath));
  const server = await ApiServer.start({ stateDir: dir, socketPath, host: false });
  try {
    assert.equal(server.url, undefined);
    assert.equal(server.socketPath, socketPath);
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    const body = await new Promise<string>((resolve, reject) => {
      request({ socketPath, path: '/healthz' }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(body, 'ok');
    // A second server on a live socket refuses instead of stealing it.
    await assert.rejects(
      ApiServer.start({ stateDir: join(dir, 'second'), socketPath, host: false }),
      /another server is listening/,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with a data dir, a restart keeps objects and their allocations', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  let ip: string;
  {
    await using first = await ApiServer.start({ stateDir: dir, dataDir, socketPath: false });
    const svc = first.registry.create(SERVICES, 'default', {
      metadata: { name: 'kept' },
      spec: { ports: [{ port: 80 }] },
    }) as any;
    ip = svc.spec.clusterIP;
  }
  assert.ok(existsSync(join(dataDir, 'state.db')));
  await using second = await ApiServer.start({ stateDir: dir, dataDir, socketPath: false });
  const kept = second.registry.get(SERVICES, 'default', 'kept') as any;
  assert.equal(kept.spec.clusterIP, ip);
  assert.equal(second.store.list('namespaces').items.length, 4, 'bootstrap did not duplicate anything');
  assert.throws(
    () =>
      second.registry.create(SERVICES, 'default', {
        metadata: { name: 'clash' },
        spec: { clusterIP: ip, ports: [{ port: 80 }] },
      }),
    (e: unknown) => e instanceof ApiError && e.httpCode === 422,
    'the restarted allocator knows the stored ClusterIP is taken',
  );
  rmSync(dir, { recursive: true, force: true });
});
