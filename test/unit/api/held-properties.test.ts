// What held when the apiserver was probed with hostile input, kept as regression tests with counts:
// concurrent writers with resourceVersions lose no acknowledged update and never see a
// resourceVersion twice, and thousands of watches opened and dropped release every file
// descriptor and every watcher. (Durability across kill -9 is test/integration/api/durability.)
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { ApiHttpServer } from '../../../dataplane/api/http/server.ts';
import { call, expectObject, newFixture, service, SVC_PATH } from './dispatch-fixture.ts';

const WRITERS = 32;
const PUTS_PER_WRITER = 50;
const WATCHES = 2000;
const WATCH_ROUNDS = 3;

const fixture = newFixture();
let server: ApiHttpServer;

before(async () => {
  server = await ApiHttpServer.listen({ dispatcher: fixture.dispatch, tcp: { host: '127.0.0.1', port: 0 } });
});

after(() => server.close());

function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: bytes ? { 'content-type': 'application/json', 'content-length': bytes.length } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

test(`${WRITERS} concurrent writers x ${PUTS_PER_WRITER} PUTs with resourceVersion lose no acknowledged update and repeat no resourceVersion`, async (t) => {
  expectObject(call(fixture, 'POST', SVC_PATH, { body: service('contended', {}, {}) }), 201);
  const path = `${SVC_PATH}/contended`;
  const acknowledged: string[] = [];
  let conflicts = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < PUTS_PER_WRITER; i++) {
        const cur = (await send('GET', path)).body;
        const count = Number(cur.metadata.annotations?.count ?? '0');
        cur.metadata.annotations = {
          ...cur.metadata.annotations,
          count: String(count + 1),
          last: `w${w}-${i}`,
        };
        const r = await send('PUT', path, cur);
        if (r.status === 200) acknowledged.push(r.body.metadata.resourceVersion);
        else {
          assert.equal(r.status, 409, JSON.stringify(r.body));
          assert.equal(r.body.reason, 'Conflict');
          conflicts++;
        }
      }
    }),
  );
  t.diagnostic(`${acknowledged.length} PUTs acknowledged, ${conflicts} refused with 409 Conflict`);
  assert.equal(acknowledged.length + conflicts, WRITERS * PUTS_PER_WRITER);
  assert.ok(acknowledged.length > 0);
  // Every acknowledged PUT read the previous acknowledged state: none was lost.
  const final = (await send('GET', path)).body;
  assert.equal(Number(final.metadata.annotations.count), acknowledged.length);
  assert.equal(new Set(acknowledged).size, acknowledged.length, 'a resourceVersion was handed out twice');
  assert.equal(
    final.metadata.resourceVersion,
    acknowledged
      .map(Number)
      .sort((a, b) => b - a)[0]
      .toString(),
  );
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Opens a watch and resolves once its headers arrived, with the request to drop it by. */
function openWatch(): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: `${SVC_PATH}?watch=true&timeoutSeconds=600`,
        agent: false,
      },
      (res) => {
        assert.equal(res.statusCode, 200);
        res.on('data', () => {});
        res.on('error', () => {});
        resolve(() => req.destroy());
      },
    );
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

async function waitFor(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test(`${WATCHES} watches opened and dropped, ${WATCH_ROUNDS} rounds, release every fd and watcher`, async () => {
  // One warm-up connection so lazily opened fds (epoll, timers) are in the baseline.
  (await openWatch())();
  await waitFor('the warm-up watch to end', () => server.watchCount === 0);
  const fdBaseline = openFds();
  const watcherBaseline = fixture.store.watcherCount;
  for (let round = 0; round < WATCH_ROUNDS; round++) {
    const drops: (() => void)[] = [];
    for (let i = 0; i < WATCHES; i += 200) {
      drops.push(...(await Promise.all(Array.from({ length: Math.min(200, WATCHES - i) }, openWatch))));
    }
    assert.equal(server.watchCount, WATCHES);
    assert.equal(fixture.store.watcherCount, watcherBaseline + WATCHES);
    // Both ends live in this process: two fds per watch.
    const open = openFds();
    assert.ok(open >= 2 * WATCHES, `${open} fds open for ${WATCHES} watches`);
    for (const drop of drops) drop();
    await waitFor(`round ${round}: every watch to end`, () => server.watchCount === 0);
    await waitFor(
      `round ${round}: every store watcher to go`,
      () => fixture.store.watcherCount === watcherBaseline,
    );
    await waitFor(`round ${round}: fds back to ${fdBaseline}`, () => openFds() <= fdBaseline);
  }
});
