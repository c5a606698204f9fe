// The DNS pods' read-only view of the apiserver (api-relay.ts): only GETs of services and
// endpointslices pass, with the agent's token added; everything else is 403 and never reaches
// the apiserver. Against a stand-in apiserver on a unix socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiRelay, relayAllows } from '../../../dataplane/dns/api-relay.ts';

function get(socketPath: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, headers: { authorization: 'Bearer stolen' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('which requests the relay passes', () => {
  assert.ok(relayAllows('GET', '/api/v1/services'));
  assert.ok(relayAllows('GET', '/api/v1/services?watch=1&resourceVersion=5'));
  assert.ok(relayAllows('GET', '/apis/discovery.k8s.io/v1/endpointslices?limit=500'));
  for (const [m, u] of [
    ['POST', '/api/v1/services'],
    ['DELETE', '/api/v1/services'],
    ['GET', '/api/v1/secrets'],
    ['GET', '/api/v1/servicesx'],
    ['GET', '/api/v1/namespaces/default/pods'],
    ['GET', '/api/v1/services/../pods'],
  ])
    assert.equal(relayAllows(m, u), false, `${m} ${u}`);
});

test('the relay adds the token, passes allowed GETs and refuses the rest unseen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-relay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seen: string[] = [];
  const api = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.end('{"kind":"ServiceList"}');
  });
  const apiSocket = join(dir, 'api.sock.up');
  await new Promise<void>((r) => api.listen(apiSocket, r));
  t.after(() => api.close());
  const relay = await ApiRelay.start({
    dir: join(dir, 'c'),
    uid: process.getuid!(),
    gid: process.getgid!(),
    apiSocket,
    token: 'agent-token',
  });
  try {
    assert.equal(statSync(relay.path).mode & 0o777, 0o600);
    const ok = await get(relay.path, '/api/v1/services?limit=1');
    assert.deepEqual(ok, { status: 200, body: '{"kind":"ServiceList"}' });
    const denied = await get(relay.path, '/api/v1/secrets');
    assert.equal(denied.status, 403);
    assert.equal((await get(relay.path, '/api/v1/services', 'POST')).status, 403);
    assert.deepEqual(seen, ['GET /api/v1/services?limit=1 Bearer agent-token']);
  } finally {
    await relay.close();
    await relay.close();
  }
});
