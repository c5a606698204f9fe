// Runs the validation side's malformed-request cases (cases-metadata, cases-fields, cases-query)
// over real HTTP against one apiserver: each answer must be a v1 Status with the expected code and
// reason, nothing refused may be stored, and the server must keep answering afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../../dataplane/api/apiserver.ts';
import type { MalformedCase } from './case.ts';
import { cases as fieldCases } from './cases-fields.ts';
import { cases as metadataCases } from './cases-metadata.ts';
import { cases as queryCases } from './cases-query.ts';

const ALL: MalformedCase[] = [...metadataCases, ...fieldCases, ...queryCases];
let server: ApiServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdp-validation-cases-'));
  server = await ApiServer.start({ stateDir: dir, port: 0, socketPath: false });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function send(
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const url = new URL(server.url!);
  const payload =
    body === undefined
      ? undefined
      : typeof body === 'string' || Buffer.isBuffer(body)
        ? body
        : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: payload === undefined ? {} : { 'content-type': contentType ?? 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

test('the validation cases have unique names and number at least 150', () => {
  const names = ALL.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, 'duplicate case names');
  assert.ok(ALL.length >= 150, `only ${ALL.length} cases`);
});

for (const c of ALL) {
  test(c.name, async () => {
    for (const s of c.setup ?? []) {
      const r = await send('POST', s.path, s.body);
      assert.ok(
        r.status === 201 || r.status === 409,
        `setup ${s.path}: ${r.status} ${JSON.stringify(r.body)}`,
      );
    }
    const r = await send(c.method, c.path, c.body, c.contentType);
    assert.equal(r.status, c.status, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.kind, 'Status');
    assert.equal(r.body.apiVersion, 'v1');
    assert.equal(r.body.code, c.status);
    if (c.reason) assert.equal(r.body.reason, c.reason, r.body.message);
    if (c.notStored) assert.equal((await send('GET', c.notStored)).status, 404, `${c.notStored} was stored`);
  });
}

test('the server still answers health checks and lists after every case', async () => {
  assert.equal((await send('GET', '/healthz')).status, 200);
  const list = await send('GET', '/api/v1/namespaces/default/services');
  assert.equal(list.status, 200);
  assert.equal(list.body.kind, 'ServiceList');
});

test('fieldValidation=Warn answers with a Warning: 299 header per unknown field, over HTTP', async () => {
  const body = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'warned' },
    spec: { ports: [{ port: 80, colour: 'red' }], foo: 1 },
  };
  const r = await send('POST', '/api/v1/namespaces/default/services?fieldValidation=Warn', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(
    r.headers.warning,
    '299 - "unknown field \\"spec.ports[0].colour\\"", 299 - "unknown field \\"spec.foo\\""',
  );
  assert.equal(r.body.spec.foo, undefined);
});
