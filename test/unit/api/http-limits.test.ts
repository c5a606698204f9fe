// Connection and request-time limits of the HTTP listeners, with short limits set through the
// options: a body that never finishes is cut, headers that never finish are cut, a watch answer
// outlives the request limit, and a connection flood past the cap is refused while the server
// still answers (on its other listener during the flood, on every listener after it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiHttpServer } from '../../../dataplane/api/http/http-server.ts';
import { call, expectObject, newFixture, service, SVC_PATH } from './dispatch-fixture.ts';
import { until } from '../../helpers/until.ts';

const LIMIT_MS = 400;
const CAP = 20;
const fixture = newFixture();
let server: ApiHttpServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdp-http-limits-'));
  server = await ApiHttpServer.listen({
    dispatcher: fixture.dispatch,
    tcp: { host: '127.0.0.1', port: 0 },
    socketPath: join(dir, 'api.sock'),
    limits: {
      headersTimeoutMs: LIMIT_MS,
      requestTimeoutMs: LIMIT_MS,
      keepAliveTimeoutMs: LIMIT_MS,
      maxConnections: CAP,
      checkIntervalMs: 50,
    },
  });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Raw {
  socket: Socket;
  /** Everything the server sent. */
  received: () => string;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
}

function openRaw(target: { port: number } | { path: string }): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
    let data = '';
    socket.on('data', (b) => (data += b.toString()));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Bounded wait for a promise: the bound is a safety net, not a measured time. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms).unref()),
  ]);
}

test('a slowloris body that never finishes is cut (408) once the request time limit passes', async () => {
  const raw = await openRaw({ port: server.port! });
  raw.socket.write(
    `POST ${SVC_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":`,
  );
  // A byte now and then keeps the connection busy but never completes the body.
  const drip = setInterval(() => raw.socket.write(' '), 50);
  try {
    await within(raw.closed, 20 * LIMIT_MS, 'the server did not cut the slow body');
  } finally {
    clearInterval(drip);
  }
  assert.match(raw.received(), /^HTTP\/1\.1 408/);
});

test('headers that never finish are cut too', async () => {
  const raw = await openRaw({ port: server.port! });
  raw.socket.write(`GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n`);
  const drip = setInterval(() => raw.socket.write('X-Slow: a\r\n'), 50);
  try {
    await within(raw.closed, 20 * LIMIT_MS, 'the server did not cut the slow headers');
  } finally {
    clearInterval(drip);
  }
  assert.match(raw.received(), /^HTTP\/1\.1 408/);
});

test('a watch answer outlives the request time limit and still gets events', async () => {
  const res = await fetch(`${server.url}${SVC_PATH}?watch=true&timeoutSeconds=30`);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  // Waiting out the limit several times over is the point of this test, not a readiness guess.
  await new Promise((r) => setTimeout(r, 4 * LIMIT_MS));
  expectObject(call(fixture, 'POST', SVC_PATH, { body: service('late') }), 201);
  let text = '';
  while (!text.includes('"late"')) {
    const { value, done } = await within(reader.read(), 10_000, 'no event on the watch');
    assert.equal(done, false, 'the watch ended early');
    text += Buffer.from(value!).toString();
  }
  await reader.cancel();
});

test('a connection flood past the cap is refused; the server keeps answering', async () => {
  const flood = await Promise.all(Array.from({ length: CAP + 10 }, () => openRaw({ port: server.port! })));
  // Node closes each connection past the cap as it arrives; poll until those are gone.
  const isClosed = (r: Raw) => r.socket.destroyed || r.socket.readyState === 'closed';
  await until(
    () => `10 connections refused; only ${flood.filter(isClosed).length} of ${CAP + 10} were`,
    () => flood.filter(isClosed).length >= 10,
  );
  // During the flood the other listener answers.
  const viaSocket = await new Promise<string>((resolve, reject) => {
    const s = connect(join(dir, 'api.sock'));
    let data = '';
    s.on('data', (b) => (data += b.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
  assert.match(viaSocket, /^HTTP\/1\.1 200[\s\S]*ok$/);
  // Idle flood connections are cut by the header time limit; then TCP answers again.
  await within(Promise.all(flood.map((r) => r.closed)), 20 * LIMIT_MS, 'idle flood connections were not cut');
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(await res.text(), 'ok');
});

test('a request head past 16 KiB (one huge header, or thousands of small ones) is refused with 431', async () => {
  for (const headers of [`X-Big: ${'a'.repeat(20 * 1024)}\r\n`, 'X-Many: a\r\n'.repeat(3000)]) {
    const raw = await openRaw({ port: server.port! });
    raw.socket.write(`GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    await within(raw.closed, 10_000, 'the server did not answer the oversized head');
    assert.match(raw.received(), /^HTTP\/1\.1 431/);
  }
  assert.equal(await (await fetch(`${server.url}/healthz`)).text(), 'ok');
});
