// The validation side of the malformed-request suite (cases-metadata, cases-fields, cases-query;
// malformed.test.ts sends them): enough distinct cases, plus what a Status check cannot see, the
// Warning headers of fieldValidation=Warn over real HTTP.
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
  server = await ApiServer.start({
    stateDir: dir,
    port: 0,
    socketPath: false,
    insecureAllowUnauthenticated: true,
  });
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
