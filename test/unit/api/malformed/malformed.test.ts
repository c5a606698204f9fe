// The malformed-request suite: every case of every cases-*.ts file in this folder goes, byte for
// byte, to a real apiserver over HTTP (a fresh one per file). Each answer must have the expected
// code and, when the case names a reason, be a v1 Status with that code and reason; `notStored`
// must then be 404. After each file the server still answers /healthz and a list, and after the
// whole run its heap, after a full GC, is back near where it started.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ApiServer } from '../../../../dataplane/api/apiserver.ts';
import { localToken } from '../../../fixtures/api-fetch.ts';
import type { MalformedCase } from './case.ts';

/** How far above its starting point the heap may end, after GC (caches, metrics series, JIT). */
const HEAP_SLACK_BYTES = 48 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Answer {
  status: number;
  text: string;
}

/** Sends the request exactly as given: node:http does not normalise the path as fetch would. */
function send(
  server: ApiServer,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<Answer> {
  const u = new URL(server.url!);
  const bytes =
    body === undefined
      ? undefined
      : typeof body === 'string' || Buffer.isBuffer(body)
        ? Buffer.from(body)
        : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { authorization: `Bearer ${localToken(server)}` };
  if (bytes) {
    headers['content-type'] = contentType ?? 'application/json';
    headers['content-length'] = String(bytes.length);
  } else if (contentType) headers['content-type'] = contentType;
  return new Promise((resolve, reject) => {
    const target = { host: u.hostname, port: u.port, method, path, headers, ca: server.credentials!.ca };
    const req = request(target, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    // The server may answer and close before it reads a body it refuses (413): that is an answer.
    req.on('error', reject);
    req.end(bytes);
  });
}

function checkAnswer(c: MalformedCase, a: Answer): void {
  assert.equal(a.status, c.status, `${c.method} ${c.path.slice(0, 200)}: ${a.text.slice(0, 500)}`);
  if (c.reason === undefined) return;
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(a.text) as Record<string, unknown>;
  } catch {
    return assert.fail(`the answer is not JSON: ${a.text.slice(0, 200)}`);
  }
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.kind, 'Status');
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, c.status);
  assert.equal(s.reason, c.reason, String(s.message));
  assert.equal(typeof s.message, 'string');
}

const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => /^cases-.+\.ts$/.test(f))
  .sort();
const suites: { file: string; cases: MalformedCase[] }[] = [];
for (const file of files) {
  const mod = (await import(join(dir, file))) as { cases?: MalformedCase[] };
  assert.ok(Array.isArray(mod.cases), `${file} exports no cases`);
  suites.push({ file, cases: mod.cases });
}

let heapBaseline = 0;

before(() => {
  gc();
  heapBaseline = process.memoryUsage().heapUsed;
});

test('the suite holds 1 file or more, and case names are unique across files', () => {
  assert.ok(suites.length > 0);
  const seen = new Set<string>();
  for (const { file, cases } of suites) {
    for (const c of cases) {
      assert.ok(!seen.has(c.name), `duplicate case name in ${file}: ${c.name}`);
      seen.add(c.name);
    }
  }
});

for (const { file, cases } of suites) {
  describe(file, () => {
    let server: ApiServer;
    let stateDir: string;

    before(async () => {
      stateDir = mkdtempSync(join(tmpdir(), 'kdp-malformed-'));
      server = await ApiServer.start({ stateDir, port: 0, socketPath: false });
    });

    after(async () => {
      await server?.close();
      rmSync(stateDir, { recursive: true, force: true });
    });

    for (const c of cases) {
      test(c.name, async () => {
        for (const s of c.setup ?? []) {
          const r = await send(server, 'POST', s.path, s.body);
          assert.ok(r.status === 201 || r.status === 409, `setup POST ${s.path}: ${r.status} ${r.text}`);
        }
        checkAnswer(c, await send(server, c.method, c.path, c.body, c.contentType));
        if (c.notStored) {
          const r = await send(server, 'GET', c.notStored);
          assert.equal(r.status, 404, `${c.notStored} was stored: ${r.text.slice(0, 300)}`);
        }
      });
    }

    test('afterwards the server answers /healthz and a list', async () => {
      const h = await send(server, 'GET', '/healthz');
      assert.equal(h.status, 200);
      assert.equal(h.text, 'ok');
      const l = await send(server, 'GET', '/api/v1/namespaces');
      assert.equal(l.status, 200);
      assert.equal((JSON.parse(l.text) as { kind: string }).kind, 'NamespaceList');
    });
  });
}

test('after the whole run the heap is back near its baseline', () => {
  gc();
  const used = process.memoryUsage().heapUsed;
  assert.ok(
    used < heapBaseline + HEAP_SLACK_BYTES,
    `heap ${Math.round(used / 2 ** 20)} MiB after the run, ${Math.round(heapBaseline / 2 ** 20)} MiB before`,
  );
});
