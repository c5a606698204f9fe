// The real HTTP server on 127.0.0.1:0 fed with what breaks servers: bad JSON, wrong kinds,
// bodies past the limit, invalid names, ports and CIDRs, stale writes, unknown paths, requests
// without credentials. Each answer is a Status with the right code, and the server stays healthy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../dataplane/api/apiserver.ts';
import { apiFetch, localToken } from '../../fixtures/api-fetch.ts';

let TOKEN: string;
let server: ApiServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdp-http-malformed-'));
  server = await ApiServer.start({ stateDir: dir, port: 0 });
  TOKEN = localToken(server);
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function send(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await apiFetch(server, path, {
    as: 'nobody',
    method,
    body,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

function assertStatus(a: Answer, code: number, reason: string): any {
  assert.equal(a.status, code, a.text);
  assert.equal(a.headers.get('content-type'), 'application/json');
  assert.equal(a.body.kind, 'Status');
  assert.equal(a.body.code, code);
  assert.equal(a.body.reason, reason, a.body.message);
  return a.body;
}

const SVC = '/api/v1/namespaces/default/services';
const svc = (name: string, spec: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ port: 80 }], ...spec },
  });

test('malformed JSON is 400 BadRequest', async () => {
  for (const body of ['{', '{"metadata": {"name": "x"}', 'not json at all', '\u0000\u0001']) {
    const s = assertStatus(await send('POST', SVC, body), 400, 'BadRequest');
    assert.match(s.message, /parse error/);
  }
  assertStatus(await send('POST', SVC, '"a string"'), 400, 'BadRequest');
  assertStatus(await send('POST', SVC, 'null'), 400, 'BadRequest');
});

test('a body of the wrong kind or apiVersion is 400', async () => {
  const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
  assert.match(assertStatus(await send('POST', SVC, pod), 400, 'BadRequest').message, /kind/);
  const v2 = JSON.stringify({
    apiVersion: 'v2',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { ports: [{ port: 1 }] },
  });
  assert.match(assertStatus(await send('POST', SVC, v2), 400, 'BadRequest').message, /API version/);
});

test('a body past 3 MiB is 413; one announced far past it is refused before it is read', async () => {
  const big = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'big', annotations: { a: 'x'.repeat(3.5 * 1024 * 1024) } },
  });
  assertStatus(await send('POST', SVC, big), 413, 'RequestEntityTooLarge');
  const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(server.url!);
    const req = request({
      host: url.hostname,
      port: url.port,
      ca: server.credentials!.ca,
      method: 'POST',
      path: SVC,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'content-length': String(1 << 30),
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.write('{"apiVersion": "v1", ');
  });
  assert.equal(early.status, 413);
  assert.equal(JSON.parse(early.body).reason, 'RequestEntityTooLarge');
});

test('invalid names, ports and CIDRs are 422 Invalid with a cause per field', async () => {
  const badName = assertStatus(await send('POST', SVC, svc('Not_A_Name')), 422, 'Invalid');
  assert.equal(badName.details.kind, 'Service');
  assert.ok(
    badName.details.causes.some((c: any) => c.field === 'metadata.name' && c.reason === 'FieldValueInvalid'),
  );
  const badPort = assertStatus(
    await send('POST', SVC, svc('port', { ports: [{ port: 70000 }] })),
    422,
    'Invalid',
  );
  assert.ok(
    badPort.details.causes.some((c: any) => c.field === 'spec.ports[0].port'),
    JSON.stringify(badPort.details),
  );
  const outside = assertStatus(
    await send('POST', SVC, svc('ip', { clusterIP: '192.168.1.1' })),
    422,
    'Invalid',
  );
  assert.ok(
    outside.details.causes.some((c: any) => String(c.field).startsWith('spec.clusterIP')),
    JSON.stringify(outside.details),
  );
  const node = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    spec: { podCIDR: '10.244.1.0/33' },
  });
  const badCIDR = assertStatus(await send('POST', '/api/v1/nodes', node), 422, 'Invalid');
  assert.ok(
    badCIDR.details.causes.some((c: any) => String(c.field).startsWith('spec.podCIDR')),
    JSON.stringify(badCIDR.details),
  );
  const badLabel = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'l', labels: { 'bad key!': 'v' } },
    spec: { ports: [{ port: 1 }] },
  });
  assert.ok(
    assertStatus(await send('POST', SVC, badLabel), 422, 'Invalid').details.causes.some(
      (c: any) => c.field === 'metadata.labels',
    ),
  );
});

test('a write with a stale resourceVersion is 409 Conflict', async () => {
  const created = await send('POST', SVC, svc('stale'));
  assert.equal(created.status, 201, created.text);
  const v1 = created.body;
  const bump = await send(
    'PUT',
    `${SVC}/stale`,
    JSON.stringify({ ...v1, metadata: { ...v1.metadata, labels: { v: '2' } } }),
  );
  assert.equal(bump.status, 200, bump.text);
  const s = assertStatus(
    await send(
      'PUT',
      `${SVC}/stale`,
      JSON.stringify({ ...v1, metadata: { ...v1.metadata, labels: { v: '3' } } }),
    ),
    409,
    'Conflict',
  );
  assert.match(s.message, /Operation cannot be fulfilled on services "stale"/);
});

test('unknown paths are a 404 Status, wrong methods 405, odd patch types 415', async () => {
  assertStatus(await send('GET', '/api/v1/namespaces/default/widgets'), 404, 'NotFound');
  assertStatus(await send('GET', '/apis/example.com/v1'), 404, 'NotFound');
  // A broken escape is a malformed request (400), as Go's server answers it upstream.
  assertStatus(await send('GET', '/%E0%A4%A'), 400, 'BadRequest');
  assertStatus(await send('PUT', SVC, svc('x')), 405, 'MethodNotAllowed');
  assertStatus(
    await send('PATCH', `${SVC}/kubernetes`, '{}', { 'content-type': 'text/plain' }),
    415,
    'UnsupportedMediaType',
  );
});

test('without the token, or with a wrong one, 401; health and version stay open', async () => {
  for (const auth of [undefined, 'Bearer wrong', 'Basic abc', `Bearer ${TOKEN}x`]) {
    const res = await apiFetch(server, '/api/v1/namespaces', {
      headers: auth ? { authorization: auth } : {},
      as: 'nobody',
    });
    assert.equal(res.status, 401);
    const s = (await res.json()) as any;
    assert.equal(s.reason, 'Unauthorized');
  }
  assert.equal((await apiFetch(server, '/metrics', { as: 'nobody' })).status, 401);
  for (const p of ['/healthz', '/readyz', '/livez']) {
    const res = await apiFetch(server, p, { as: 'nobody' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  }
  assert.equal((await apiFetch(server, '/version', { as: 'nobody' })).status, 200);
});

test('after all of that the server is healthy, and /metrics counts the answers by code', async () => {
  const health = await apiFetch(server, '/healthz', { as: 'nobody' });
  assert.equal(await health.text(), 'ok');
  const list = await send('GET', SVC);
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((s: any) => s.metadata.name === 'stale'));
  const metrics = await send('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(metrics.text, /apiserver_request_total\{verb="POST",resource="services",code="400"\} \d+/);
  assert.match(metrics.text, /apiserver_request_total\{verb="POST",resource="services",code="413"\} \d+/);
  assert.match(metrics.text, /apiserver_request_total\{verb="PUT",resource="services",code="409"\} 1/);
  assert.match(
    metrics.text,
    /apiserver_request_duration_seconds_bucket\{le="[^"]+",verb="LIST",resource="services"\}/,
  );
  assert.match(metrics.text, /apiserver_storage_objects\{resource="services"\} \d+/);
  assert.match(metrics.text, /apiserver_storage_objects\{resource="deployments.apps"\} 0/);
});
