// One request never takes the process down: whatever a handler throws, synchronously or in a
// later callback, is logged and answered 500 InternalError with a Status; a failing log hook or
// watcher costs only itself. Runs the real HTTP server with dispatchers that misbehave on purpose.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Dispatcher } from '../../../dataplane/api/http/dispatch.ts';
import type { ApiResult } from '../../../dataplane/api/http/dispatch-types.ts';
import { ApiHttpServer } from '../../../dataplane/api/http/http-server.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { KubeObject } from '../../../dataplane/api/types.ts';
import { call, expectObject, newFixture, service, SVC_PATH } from './dispatch-fixture.ts';
import { until } from '../../helpers/until.ts';

/** A dispatcher that answers /healthz and lets `bad` answer everything else. */
function dispatcherWith(bad: () => ApiResult): Dispatcher {
  return (req) =>
    req.path === '/healthz' ? { kind: 'text', status: 200, body: 'ok', contentType: 'text/plain' } : bad();
}

async function withServer(
  bad: () => ApiResult,
  fn: (url: string, errors: unknown[]) => Promise<void>,
  extra: { onRequest?(): void } = {},
): Promise<void> {
  const errors: unknown[] = [];
  const server = await ApiHttpServer.listen({
    dispatcher: dispatcherWith(bad),
    tcp: { host: '127.0.0.1', port: 0 },
    onError: (e) => errors.push(e),
    ...extra,
  });
  try {
    await fn(server.url!, errors);
    assert.equal(await (await fetch(`${server.url}/healthz`)).text(), 'ok', 'the server still answers');
  } finally {
    await server.close();
  }
}

async function expect500(url: string): Promise<any> {
  const res = await fetch(`${url}/api/v1/namespaces/default/services`);
  const body = (await res.json()) as any;
  assert.equal(res.status, 500);
  assert.equal(body.kind, 'Status');
  assert.equal(body.code, 500);
  assert.equal(body.reason, 'InternalError');
  return body;
}

test('a handler that throws a plain Error is a 500 InternalError Status, logged, and the server lives', async () => {
  await withServer(
    () => {
      throw new TypeError('boom in a handler');
    },
    async (url, errors) => {
      for (let i = 0; i < 3; i++) assert.match((await expect500(url)).message, /boom in a handler/);
      assert.equal(errors.length, 3);
      assert.ok(errors.every((e) => e instanceof TypeError));
    },
  );
});

test('a result that cannot be serialised (BigInt, cycle) is a 500, not an uncaught exception', async () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const body of [{ n: 10n }, cyclic]) {
    await withServer(
      () => ({ kind: 'object', status: 200, body }),
      async (url, errors) => {
        await expect500(url);
        assert.equal(errors.length, 1);
      },
    );
  }
});

test('a request log hook that throws after the answer is logged; the process and the answer survive', async () => {
  let calls = 0;
  await withServer(
    () => ({ kind: 'object', status: 200, body: { kind: 'Status', status: 'Success' } }),
    async (url, errors) => {
      const res = await fetch(`${url}/api/v1/namespaces`);
      assert.equal(res.status, 200);
      await res.text();
      await until('the error to be reported', () => errors.length === 1);
      assert.match(String(errors[0]), /log hook broke/);
    },
    {
      onRequest: () => {
        calls++;
        throw new Error('log hook broke');
      },
    },
  );
  assert.ok(calls >= 1);
});

test('a watch whose transform throws ends with an ERROR event; the store write that caused it succeeds', async () => {
  const store = new Store();
  await withServer(
    () => ({
      kind: 'watch',
      timeoutSeconds: 60,
      allowBookmarks: false,
      start: (emit) =>
        store.watch({ gr: 'services', send: (ev) => emit({ type: ev.type, object: ev.object }) }),
      currentResourceVersion: () => String(store.resourceVersion),
      transform: () => {
        throw new Error('transform broke');
      },
    }),
    async (url) => {
      const res = await fetch(`${url}/api/v1/services?watch=true`);
      assert.equal(res.status, 200);
      const text = res.text();
      store.create('services', svcObject('s'));
      const line = JSON.parse((await text).trim());
      assert.equal(line.type, 'ERROR');
      assert.equal(line.object.reason, 'InternalError');
    },
  );
});

test('a store watcher that throws is dropped; the writer and every other watcher carry on', () => {
  const store = new Store();
  const seen: string[] = [];
  const failures: unknown[] = [];
  store.watch({
    gr: 'services',
    send: () => {
      throw new Error('watcher broke');
    },
    failed: (e) => failures.push(e),
  });
  store.watch({ gr: 'services', send: (ev) => seen.push(ev.object.metadata.name!) });
  assert.equal(store.watcherCount, 2);
  store.create('services', svcObject('a'));
  store.create('services', svcObject('b'));
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(failures.length, 1, 'the failing watcher is told once and dropped');
  assert.equal(store.watcherCount, 1);
  assert.ok(store.get('services', 'default', 'b'));
});

function svcObject(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' } };
}

test('a watch whose filtering throws on a later event gets an ERROR event and ends; the create succeeds', async () => {
  const f = newFixture();
  const real = f.registry.filterFor.bind(f.registry);
  f.registry.filterFor = (...args: Parameters<typeof real>) => {
    const filter = real(...args);
    return (o: KubeObject) => {
      if (o.metadata.name === 'boom') throw new Error('filter broke');
      return filter ? filter(o) : true;
    };
  };
  const server = await ApiHttpServer.listen({ dispatcher: f.dispatch, tcp: { host: '127.0.0.1', port: 0 } });
  try {
    const res = await fetch(`${server.url}${SVC_PATH}?watch=true&labelSelector=app%3Dboom`);
    assert.equal(res.status, 200);
    const text = res.text();
    expectObject(call(f, 'POST', SVC_PATH, { body: service('boom') }), 201);
    const lines = (await text)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).type, 'ERROR');
    assert.equal(lines.at(-1).object.reason, 'InternalError');
    assert.match(lines.at(-1).object.message, /filter broke/);
    assert.equal(server.watchCount, 0);
  } finally {
    await server.close();
  }
});

test('methods the API does not serve (OPTIONS, TRACE, CONNECT, an unknown one) are answered; the server lives', async () => {
  const f = newFixture();
  const server = await ApiHttpServer.listen({ dispatcher: f.dispatch, tcp: { host: '127.0.0.1', port: 0 } });
  try {
    const answers: Record<string, string> = {};
    for (const method of ['OPTIONS', 'TRACE', 'CONNECT', 'FOO', 'PROPFIND']) {
      answers[method] = await rawStatusLine(
        server.port!,
        `${method} ${SVC_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
    }
    assert.match(answers.OPTIONS, / 405 /);
    assert.match(answers.TRACE, / 405 /);
    assert.match(answers.PROPFIND, / 405 /);
    // Node's parser refuses what is not an HTTP method at all; CONNECT (no tunnels here) is closed.
    assert.match(answers.FOO, / 400 /);
    assert.equal(answers.CONNECT, '');
    assert.equal(await (await fetch(`${server.url}${SVC_PATH}`)).status, 200);
  } finally {
    await server.close();
  }
});

/** Sends raw bytes and resolves with the first line of the answer. */
function rawStatusLine(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (b) => {
      data += b.toString();
      if (data.includes('\r\n')) {
        resolve(data.split('\r\n')[0]);
        s.destroy();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(data.split('\r\n')[0]));
    s.write(raw);
  });
}
