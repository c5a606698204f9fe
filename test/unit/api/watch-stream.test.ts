// Watch streaming over real HTTP: headers come before any event, bookmarks, the end after
// timeoutSeconds, 410 before the stream starts, a watcher that stops reading is cut off instead
// of growing the server's memory, and 200 concurrent watchers all get an event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, type ApiServerOptions } from '../../../dataplane/api/apiserver.ts';
import type { RequestLogEntry } from '../../../dataplane/api/http/http-server.ts';
import { findResource } from '../../../dataplane/api/resources.ts';
import { apiFetch } from '../../fixtures/api-fetch.ts';
import { until } from '../../helpers/until.ts';

const SERVICES = findResource('', 'services')!;
const SVC_PATH = '/api/v1/namespaces/default/services';

async function withServer(opts: ApiServerOptions, body: (s: ApiServer) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-watch-stream-'));
  const server = await ApiServer.start({ stateDir: dir, socketPath: false, ...opts });
  try {
    await body(server);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function createService(s: ApiServer, name: string, annotations: Record<string, string> = {}): void {
  s.registry.create(SERVICES, 'default', {
    metadata: { name, annotations },
    spec: { ports: [{ port: 80 }] },
  });
}

interface OpenWatch {
  res: IncomingMessage;
  events: any[];
  ended: Promise<void>;
  close(): void;
}

/** The admin's TLS options: the cluster CA and the client certificate. */
function tlsOptions(s: ApiServer) {
  return { ca: s.credentials!.ca, cert: s.credentials!.admin.cert, key: s.credentials!.admin.key };
}

function openWatch(s: ApiServer, query: string, agent?: Agent): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.url}${SVC_PATH}?watch=true&${query}`, agent ? { agent } : tlsOptions(s));
    req.on('error', reject);
    req.on('response', (res) => {
      const events: any[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
      });
      const ended = new Promise<void>((r) => {
        res.on('end', r);
        res.on('close', r);
      });
      resolve({ res, events, ended, close: () => req.destroy() });
    });
    req.end();
  });
}

test('headers arrive before any event, then one JSON event per line', () =>
  withServer({}, async (s) => {
    const rv = String(s.store.resourceVersion);
    const w = await openWatch(s, `resourceVersion=${rv}`);
    try {
      assert.equal(w.res.statusCode, 200);
      assert.equal(w.res.headers['content-type'], 'application/json');
      assert.equal(w.res.headers['transfer-encoding'], 'chunked');
      assert.equal(w.events.length, 0, 'nothing changed yet, so headers came alone');
      createService(s, 'first');
      await until('the ADDED event', () => w.events.length === 1);
      assert.equal(w.events[0].type, 'ADDED');
      assert.equal(w.events[0].object.metadata.name, 'first');
    } finally {
      w.close();
    }
  }));

test('with allowWatchBookmarks, BOOKMARK events carry the kind and the current resourceVersion', () =>
  withServer({ bookmarkIntervalMs: 20 }, async (s) => {
    const w = await openWatch(s, `resourceVersion=${s.store.resourceVersion}&allowWatchBookmarks=true`);
    try {
      createService(s, 'marked');
      await until('a bookmark at the new resourceVersion', () =>
        w.events.some(
          (e) =>
            e.type === 'BOOKMARK' && e.object.metadata.resourceVersion === String(s.store.resourceVersion),
        ),
      );
      const bm = w.events.find((e) => e.type === 'BOOKMARK');
      assert.deepEqual(Object.keys(bm.object).sort(), ['apiVersion', 'kind', 'metadata']);
      assert.equal(bm.object.kind, 'Service');
      assert.equal(bm.object.apiVersion, 'v1');
    } finally {
      w.close();
    }
    const plain = await openWatch(s, `resourceVersion=${s.store.resourceVersion}`);
    try {
      createService(s, 'unmarked');
      await until('the ADDED event', () => plain.events.length === 1);
      await new Promise((r) => setTimeout(r, 100)); // several bookmark intervals
      assert.ok(
        plain.events.every((e) => e.type !== 'BOOKMARK'),
        'no bookmarks unless asked',
      );
    } finally {
      plain.close();
    }
  }));

test('timeoutSeconds ends the stream, and the watcher is unregistered', () =>
  withServer({}, async (s) => {
    const before = s.store.watcherCount;
    const w = await openWatch(s, 'timeoutSeconds=1');
    assert.equal(s.store.watcherCount, before + 1);
    await w.ended;
    assert.ok(w.res.complete, 'the stream ended cleanly (terminating chunk), not by a reset');
    await until('the store watcher to go', () => s.store.watcherCount === before);
  }));

test('a too-old resourceVersion is an HTTP 410 Status before any stream', () =>
  withServer({ watchWindow: 2 }, async (s) => {
    createService(s, 'a');
    const old = s.store.resourceVersion;
    for (const n of ['b', 'c', 'd']) createService(s, n);
    const res = await apiFetch(s, `${SVC_PATH}?watch=true&resourceVersion=${old - 1}`);
    assert.equal(res.status, 410);
    const status = (await res.json()) as any;
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Expired');
    assert.equal(status.code, 410);
  }));

test('a watcher that stops reading is cut off once its unsent bytes pass the bound', () => {
  const log: RequestLogEntry[] = [];
  const bound = 256 * 1024;
  return withServer({ maxWatchBufferedBytes: bound, onRequest: (e) => log.push(e) }, async (s) => {
    const baseline = s.store.watcherCount;
    const url = new URL(s.url!);
    const sock = connect({ port: Number(url.port), host: url.hostname, ...tlsOptions(s) });
    await new Promise((r) => sock.once('secureConnect', r));
    sock.write(
      `GET ${SVC_PATH}?watch=true&resourceVersion=${s.store.resourceVersion} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    await until('the watch to start', () => s.store.watcherCount === baseline + 1);
    sock.pause(); // a client that stops reading
    let received = 0;
    sock.on('data', (c: Buffer) => (received += c.length));
    const closed = new Promise((r) => sock.once('close', r));
    const payload = 'x'.repeat(100 * 1024);
    let produced = 0;
    for (let i = 0; i < 400 && !log.some((e) => e.watchEnd === 'slow'); i++) {
      createService(s, `bulk-${i}`, { filler: payload });
      produced += payload.length;
      if (i % 20 === 19) await new Promise((r) => setImmediate(r)); // let the socket drain what it can
    }
    assert.ok(
      log.some((e) => e.watchEnd === 'slow'),
      'the watcher was cut off as slow',
    );
    assert.equal(s.store.watcherCount, baseline, 'its store watch is gone');
    sock.resume();
    await closed;
    assert.ok(
      received < produced,
      `the client got ${received} of ${produced} bytes: the rest was never buffered`,
    );
    // The server is fine for everyone else.
    const res = await apiFetch(s, '/healthz');
    assert.equal(await res.text(), 'ok');
  });
});

test('200 concurrent watchers all get the event', () =>
  withServer({}, async (s) => {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity, ...tlsOptions(s) });
    const rv = s.store.resourceVersion;
    const watches = await Promise.all(
      Array.from({ length: 200 }, () => openWatch(s, `resourceVersion=${rv}`, agent)),
    );
    try {
      await until('all watches registered', () => s.store.watcherCount >= 200);
      createService(s, 'broadcast');
      await until('every watcher to get the event', () => watches.every((w) => w.events.length > 0));
      for (const w of watches) {
        assert.equal(w.events[0].type, 'ADDED');
        assert.equal(w.events[0].object.metadata.name, 'broadcast');
      }
      const metrics = await s.metrics.text();
      assert.match(metrics, /apiserver_registered_watchers\{group="",version="v1",kind="Service"\} 200/);
    } finally {
      for (const w of watches) w.close();
      agent.destroy();
    }
  }));
