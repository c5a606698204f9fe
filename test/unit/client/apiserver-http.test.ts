// The client and informer over real HTTP against kdp's embedded apiserver (loopback TCP and a
// unix socket under a temp dir): the kubeconfig it writes, the CRUD flow an informer sees, a watch
// the server ends being resumed, and the token the unix socket requires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, type ApiServerOptions } from '../../../dataplane/api/apiserver.ts';
import type { RequestLogEntry } from '../../../dataplane/api/http/http-server.ts';
import type { Service } from '../../../dataplane/api/types.ts';
import { connect } from '../../../dataplane/client/index.ts';
import { createInformer } from '../../../dataplane/client/informer.ts';
import { crudSeenByInformer, recorder, service } from './informer-flow.ts';
import { until } from '../../helpers/until.ts';

async function withServer(opts: ApiServerOptions, body: (server: ApiServer) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-client-http-'));
  const server = await ApiServer.start({ stateDir: dir, ...opts });
  try {
    await body(server);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('over HTTPS from the kubeconfig the apiserver writes: the CRUD flow reaches an informer in order', () =>
  withServer({}, async (server) => {
    const client = connect({ kubeconfig: server.kubeconfigPath });
    try {
      await crudSeenByInformer(client);
    } finally {
      client.close();
    }
  }));

test('over the unix socket with the token file; without a token or with a wrong one, 401', () =>
  withServer({}, async (server) => {
    assert.ok(server.socketPath);
    const good = connect({ socketPath: server.socketPath, tokenFile: server.credentials!.tokenPath });
    const bad = connect({ socketPath: server.socketPath });
    const wrong = connect({ socketPath: server.socketPath, token: 'sesame' });
    try {
      const k = await good.resource<Service>('svc').get('kubernetes');
      assert.equal(k.spec.clusterIP, '10.96.0.1');
      await assert.rejects(bad.resource('svc').get('kubernetes'), { httpCode: 401 });
      await assert.rejects(wrong.resource('svc').get('kubernetes'), {
        httpCode: 401,
        reason: 'Unauthorized',
      });
      assert.equal(await good.raw({ method: 'GET', path: '/healthz' }), 'ok');
    } finally {
      good.close();
      bad.close();
      wrong.close();
    }
  }));

test('a watch the server ends (timeoutSeconds) is resumed without a relist and without losing events', async () => {
  const requests: RequestLogEntry[] = [];
  await withServer({ onRequest: (e) => requests.push(e) }, async (server) => {
    const logs: string[] = [];
    const client = connect({ kubeconfig: server.kubeconfigPath });
    const informer = createInformer<Service>(client, 'services', {
      namespace: 'default',
      labelSelector: 'app=flow',
      watchTimeoutSeconds: 1,
      log: (_level, m) => logs.push(m),
    });
    const r = recorder();
    informer.addHandlers(r.handlers);
    informer.start();
    try {
      await informer.waitForSync();
      const svcs = client.resource<Service>('services');
      const first = await svcs.create(service('before'));
      await until('the first add', () => r.seen.length === 1);
      await until('the server to end a watch', () =>
        requests.some((e) => e.verb === 'watch' && e.watchEnd === 'timeout'),
      );
      const second = await svcs.create(service('after'));
      await until('the add after the re-watch', () => r.seen.length === 2);
      assert.deepEqual(r.seen, [
        `add before@${first.metadata.resourceVersion}`,
        `add after@${second.metadata.resourceVersion}`,
      ]);
      assert.equal(
        requests.filter((e) => e.verb === 'list').length,
        1,
        'one list: the watch was resumed, not relisted',
      );
      assert.deepEqual(logs, [], 'no failures were logged');
    } finally {
      informer.stop();
      client.close();
    }
  });
});
