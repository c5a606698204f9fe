// The HTTP transport against a small local server (TCP on 127.0.0.1 and a unix socket): request
// shapes, Status errors, watch streams split at awkward places, ERROR events, abort, timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiError, notFound } from '../../../dataplane/api/errors.ts';
import type { WatchEvent } from '../../../dataplane/api/types.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import { createHttpTransport } from '../../../dataplane/client/http-transport.ts';
import { connect } from '../../../dataplane/client/index.ts';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

async function startServer(handler: Handler, listenOn: number | string = 0) {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) =>
    typeof listenOn === 'string'
      ? server.listen(listenOn, resolve)
      : server.listen(listenOn, '127.0.0.1', resolve),
  );
  const port = typeof listenOn === 'string' ? 0 : (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: http.ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const svc = (name: string, rv: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', resourceVersion: rv },
});

test('requests carry method, path, query, token and JSON bodies with the patch content type', async () => {
  const seen: { method?: string; url?: string; auth?: string; type?: string; body: string }[] = [];
  const srv = await startServer((req, body, res) => {
    seen.push({
      method: req.method,
      url: req.url,
      auth: req.headers.authorization,
      type: req.headers['content-type'],
      body,
    });
    json(res, 200, { ok: true, echo: body ? JSON.parse(body) : null });
  });
  const t = createHttpTransport({ url: srv.url, token: 's3cret' });
  try {
    const got = await t.request({
      method: 'GET',
      path: '/api/v1/services',
      query: { labelSelector: 'app=web', limit: 5, watch: false, continue: undefined },
    });
    assert.deepEqual(got, { ok: true, echo: null });
    await t.request({ method: 'POST', path: '/api/v1/namespaces/default/services', body: svc('a', '') });
    await t.request({ method: 'PATCH', path: '/x', body: { a: 1 } });
    await t.request({ method: 'PATCH', path: '/x', body: [], contentType: 'application/json-patch+json' });
    assert.equal(seen[0].method, 'GET');
    assert.equal(seen[0].url, '/api/v1/services?labelSelector=app%3Dweb&limit=5&watch=false');
    assert.equal(seen[0].auth, 'Bearer s3cret');
    assert.equal(seen[0].type, undefined);
    assert.equal(seen[1].type, 'application/json');
    assert.deepEqual(JSON.parse(seen[1].body), svc('a', ''));
    assert.equal(seen[2].type, 'application/merge-patch+json');
    assert.equal(seen[3].type, 'application/json-patch+json');
  } finally {
    t.close();
    await srv.close();
  }
});

test('a base URL path prefix is kept; text answers come back as text', async () => {
  const srv = await startServer((req, _b, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`got ${req.url}`);
  });
  const t = createHttpTransport({ url: `${srv.url}/k8s/clusters/c1/` });
  try {
    assert.equal(await t.request({ method: 'GET', path: '/healthz' }), 'got /k8s/clusters/c1/healthz');
  } finally {
    t.close();
    await srv.close();
  }
});

test('a non-2xx Status becomes the matching ApiError; a non-JSON error keeps the HTTP code', async () => {
  const srv = await startServer((req, _b, res) => {
    if (req.url === '/missing') json(res, 404, notFound('services', 'web').status);
    else {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html>bad gateway</html>');
    }
  });
  const t = createHttpTransport({ url: srv.url });
  try {
    await assert.rejects(t.request({ method: 'GET', path: '/missing' }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.reason, 'NotFound');
      assert.equal(e.httpCode, 404);
      assert.equal(e.message, 'services "web" not found');
      assert.equal(e.status.details?.name, 'web');
      return true;
    });
    await assert.rejects(t.request({ method: 'GET', path: '/proxy' }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.httpCode, 502);
      assert.match(e.message, /HTTP 502.*bad gateway/);
      return true;
    });
  } finally {
    t.close();
    await srv.close();
  }
});

test('no server: KDP_ERR_API_UNREACHABLE naming the address', async () => {
  const srv = await startServer(() => {});
  await srv.close();
  const t = createHttpTransport({ url: srv.url });
  try {
    await assert.rejects(t.request({ method: 'GET', path: '/api' }), (e: unknown) => {
      assert.ok(e instanceof KdpError);
      assert.equal(e.code, 'KDP_ERR_API_UNREACHABLE');
      assert.ok(e.message.includes(srv.url), e.message);
      assert.ok(e.cause);
      return true;
    });
    await assert.rejects(
      t.watch({ method: 'GET', path: '/api' }, () => {}),
      { code: 'KDP_ERR_API_UNREACHABLE' },
    );
  } finally {
    t.close();
  }
});

test('a request with no answer times out with KDP_ERR_API_TIMEOUT', async () => {
  const srv = await startServer(() => {
    // never answers
  });
  const t = createHttpTransport({ url: srv.url, requestTimeoutMs: 20 });
  try {
    await assert.rejects(t.request({ method: 'GET', path: '/slow' }), { code: 'KDP_ERR_API_TIMEOUT' });
  } finally {
    t.close();
    await srv.close();
  }
});

test('watch reassembles lines split across chunks, even inside a multi-byte character', async () => {
  let stream: http.ServerResponse | undefined;
  const srv = await startServer((_req, _b, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    stream = res;
    const first = JSON.stringify({ type: 'ADDED', object: svc('a', '1') });
    const second = Buffer.from(JSON.stringify({ type: 'ADDED', object: svc('é-ü', '2') }) + '\n');
    const cut = second.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
    res.write(`${first}\n`);
    res.write(second.subarray(0, cut));
    (res as unknown as { rest: Buffer }).rest = second.subarray(cut);
  });
  const t = createHttpTransport({ url: srv.url });
  const got: WatchEvent[] = [];
  try {
    const done = t.watch({ method: 'GET', path: '/api/v1/services', query: { watch: 'true' } }, (ev) => {
      got.push(ev);
      // The first event is in: only now send the rest of the second line, then a third without
      // a trailing newline, so the client must have held a partial line across chunks.
      if (got.length === 1 && stream) {
        stream.write((stream as unknown as { rest: Buffer }).rest);
        stream.end(JSON.stringify({ type: 'DELETED', object: svc('a', '3') }));
      }
    });
    await done;
    assert.deepEqual(
      got.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
      [
        ['ADDED', 'a', '1'],
        ['ADDED', 'é-ü', '2'],
        ['DELETED', 'a', '3'],
      ],
    );
  } finally {
    t.close();
    await srv.close();
  }
});

test('watch: an ERROR event with a 410 Status rejects with that ApiError', async () => {
  const srv = await startServer((_req, _b, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(JSON.stringify({ type: 'ADDED', object: svc('a', '5') }) + '\n');
    const gone = new ApiError('Expired', 'too old resource version: 1 (5)').status;
    res.write(JSON.stringify({ type: 'ERROR', object: gone }) + '\n');
    // The server keeps the stream open; the client must end it itself.
  });
  const t = createHttpTransport({ url: srv.url });
  const got: string[] = [];
  try {
    await assert.rejects(
      t.watch({ method: 'GET', path: '/w' }, (ev) => got.push(ev.type)),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.httpCode, 410);
        assert.equal(e.reason, 'Expired');
        return true;
      },
    );
    assert.deepEqual(got, ['ADDED']);
  } finally {
    t.close();
    await srv.close();
  }
});

test('watch: a non-2xx answer rejects with its Status', async () => {
  const srv = await startServer((_req, _b, res) =>
    json(res, 400, new ApiError('BadRequest', 'bad selector').status),
  );
  const t = createHttpTransport({ url: srv.url });
  try {
    await assert.rejects(
      t.watch({ method: 'GET', path: '/w' }, () => {}),
      { reason: 'BadRequest', message: 'bad selector' },
    );
  } finally {
    t.close();
    await srv.close();
  }
});

test('watch: abort ends the stream cleanly; a server cutting it off is a connection error', async () => {
  const srv = await startServer((req, _b, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(JSON.stringify({ type: 'ADDED', object: svc('a', '1') }) + '\n');
    if (req.url === '/cut') res.socket?.destroy();
  });
  const t = createHttpTransport({ url: srv.url });
  try {
    const ac = new AbortController();
    let events = 0;
    await t.watch({ method: 'GET', path: '/hang', signal: ac.signal }, () => {
      events++;
      ac.abort();
    });
    assert.equal(events, 1);
    // Aborted before it starts: resolves without a request.
    await t.watch({ method: 'GET', path: '/hang', signal: ac.signal }, () =>
      assert.fail('no events expected'),
    );
    await assert.rejects(
      t.watch({ method: 'GET', path: '/cut' }, () => {}),
      { code: 'KDP_ERR_API_UNREACHABLE' },
    );
  } finally {
    t.close();
    await srv.close();
  }
});

test('over a unix socket, and through connect() with a token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-client-'));
  const socketPath = join(dir, 'api.sock');
  const srv = await startServer(
    (req, _b, res) => json(res, 200, { path: req.url, auth: req.headers.authorization ?? null }),
    socketPath,
  );
  const client = connect({ socketPath, token: 'tok' });
  try {
    assert.deepEqual(await client.raw({ method: 'GET', path: '/version' }), {
      path: '/version',
      auth: 'Bearer tok',
    });
    const rc = client.resource('svc');
    assert.deepEqual(await rc.get('web'), {
      path: '/api/v1/namespaces/default/services/web',
      auth: 'Bearer tok',
    });
  } finally {
    client.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the keep-alive agent reuses one connection for sequential requests', async () => {
  const sockets = new Set<unknown>();
  const srv = await startServer((req, _b, res) => {
    sockets.add(req.socket);
    json(res, 200, {});
  });
  const t = createHttpTransport({ url: srv.url });
  try {
    for (let i = 0; i < 5; i++) await t.request({ method: 'GET', path: '/x' });
    assert.equal(sockets.size, 1);
  } finally {
    t.close();
    await srv.close();
  }
});
