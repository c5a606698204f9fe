// Authentication on every listener: the issue's escalation (a pod created by an unprivileged
// local user) refused without credentials and with forged, expired or wrong ones, as user nobody
// when the tests run as root; the unix socket without a token; the open health paths; the
// admin certificate, another user's certificate and a token-file token accepted, with the user
// they name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../dataplane/api/apiserver.ts';
import { ClusterPki, type KeyPairPem } from '../../../dataplane/api/auth/pki.ts';
import { tokenFileLine } from '../../../dataplane/api/auth/authenticator.ts';
import type { RequestLogEntry } from '../../../dataplane/api/http/http-server.ts';
import { apiFetch, type Credentials, localToken } from '../../fixtures/api-fetch.ts';
import { until } from '../../helpers/until.ts';

const PODS = '/api/v1/namespaces/default/pods';
/** The issue's payload: a pod whose command would run as root on the host. */
const ESCALATION = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'esc' },
  spec: {
    nodeName: 'node-1',
    containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'id > /tmp/proof'] }],
  },
});
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

let dir: string;
let server: ApiServer;
const log: RequestLogEntry[] = [];
let forged: KeyPairPem;
let expired: KeyPairPem;
const TOKEN_FILE_TOKEN = 'a-token-from-the-token-file-0123456789';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdp-auth-'));
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    `# users\n${tokenFileLine({ token: TOKEN_FILE_TOKEN, user: 'alice', uid: '1001', groups: ['dev', 'ops'] })}\n`,
    { mode: 0o600 },
  );
  server = await ApiServer.start({ stateDir: join(dir, 'state'), tokenFile, onRequest: (e) => log.push(e) });
  // A certificate for the admin's very name, signed by a CA of another cluster.
  const otherCa = await ClusterPki.open(join(dir, 'other-pki'));
  forged = await otherCa.issueClient({ user: 'kubernetes-admin', groups: ['system:masters'] });
  expired = await server.issueClientCertificate({
    user: 'kubernetes-admin',
    groups: ['system:masters'],
    notBefore: new Date(Date.now() - 48 * 3600_000),
    notAfter: new Date(Date.now() - 24 * 3600_000),
  });
  // The files user nobody's child reads; the server's own credentials stay root's.
  chmodSync(dir, 0o755);
  for (const [name, pem] of [
    ['forged', forged],
    ['expired', expired],
  ] as const) {
    writeFileSync(join(dir, `${name}.crt`), pem.cert, { mode: 0o644 });
    writeFileSync(join(dir, `${name}.key`), pem.key, { mode: 0o644 });
  }
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function podCount(): number {
  return server.store.list('pods').items.length;
}

async function expect401(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 401, `${what}: ${text}`);
  const status = JSON.parse(text);
  assert.equal(status.kind, 'Status', what);
  assert.equal(status.reason, 'Unauthorized', what);
  assert.equal(status.code, 401, what);
}

test('the escalation POST is 401 and creates nothing: no credentials, wrong token, forged or expired certificate', async () => {
  const refused: [string, Credentials | 'nobody'][] = [
    ['no credentials', 'nobody'],
    ['a wrong token', { token: 'not-the-token' }],
    ['a forged certificate (other CA)', forged],
    ['an expired certificate', expired],
  ];
  for (const [what, as] of refused) {
    const res = await apiFetch(server, PODS, {
      method: 'POST',
      body: ESCALATION,
      headers: { 'content-type': 'application/json' },
      as,
    });
    await expect401(res, what);
  }
  // A token that differs in its last character, and one with the right prefix only.
  const token = localToken(server);
  for (const t of [`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, token.slice(0, 8), `${token}x`])
    await expect401(await apiFetch(server, PODS, { method: 'POST', body: ESCALATION, as: { token: t } }), t);
  assert.equal(podCount(), 0, 'no pod was created');
});

test(
  'as user nobody: the escalation is 401 with every credential nobody can have, and the secrets are unreadable',
  {
    skip: asRoot ? false : 'needs root to run a child as uid 65534',
  },
  async () => {
    const script = `
const https = require('node:https');
const fs = require('node:fs');
const [url, dir, body] = process.argv.slice(1);
const tryRead = (f) => { try { fs.readFileSync(f); return 'readable'; } catch (e) { return e.code; } };
const post = (extra) => new Promise((resolve) => {
  const req = https.request(url + '/api/v1/namespaces/default/pods', {
    method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json', ...(extra.headers || {}) },
    cert: extra.cert, key: extra.key,
  }, (res) => { let s = ''; res.on('data', (c) => (s += c)); res.on('end', () => resolve(res.statusCode + ' ' + s.slice(0, 200))); });
  req.on('error', (e) => resolve('error ' + e.message));
  req.end(body);
});
(async () => {
  const out = { uid: process.getuid() };
  out.none = await post({});
  out.token = await post({ headers: { authorization: 'Bearer guessed' } });
  for (const n of ['forged', 'expired'])
    out[n] = await post({ cert: fs.readFileSync(dir + '/' + n + '.crt'), key: fs.readFileSync(dir + '/' + n + '.key') });
  out.kubeconfig = tryRead(dir + '/state/kubeconfig');
  out.token_file = tryRead(dir + '/state/apiserver.token');
  out.ca_key = tryRead(dir + '/state/pki/ca.key');
  out.socket = await new Promise((resolve) => {
    const s = require('node:net').connect(dir + '/state/apiserver.sock');
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e) => resolve(e.code));
  });
  console.log(JSON.stringify(out));
})();`;
    const child = spawn(process.execPath, ['-e', script, server.url!, dir, ESCALATION], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, out);
    const got = JSON.parse(out);
    assert.equal(got.uid, NOBODY);
    for (const k of ['none', 'token', 'forged', 'expired'])
      assert.match(got[k], /^401 .*"reason":"Unauthorized"/, k);
    for (const k of ['kubeconfig', 'token_file', 'ca_key']) assert.equal(got[k], 'EACCES', k);
    assert.equal(got.socket, 'EACCES', 'the socket is root-only');
    assert.equal(podCount(), 0, 'no pod was created');
  },
);

test('the unix socket needs the token too: none or a wrong one is 401, the local token works', async () => {
  await expect401(await apiFetch(server, PODS, { socket: true, as: 'nobody' }), 'socket without a token');
  await expect401(await apiFetch(server, PODS, { socket: true, as: { token: 'x' } }), 'socket, wrong token');
  assert.equal((await apiFetch(server, PODS, { socket: true, as: 'token' })).status, 200);
});

test('health and version answer without credentials; /metrics and the API do not', async () => {
  for (const p of ['/healthz', '/livez', '/readyz', '/version', '/healthz/ping'])
    assert.equal((await apiFetch(server, p, { as: 'nobody' })).status, 200, p);
  for (const p of ['/metrics', '/api', '/apis', '/openapi/v2', '/api/v1/namespaces/default/secrets'])
    await expect401(await apiFetch(server, p, { as: 'nobody' }), p);
  // Over the socket as well.
  assert.equal((await apiFetch(server, '/healthz', { socket: true, as: 'nobody' })).status, 200);
});

test('accepted: the admin certificate, another user certificate, the local token and a token-file token, each as its user', async () => {
  const bob = await server.issueClientCertificate({ user: 'bob', groups: ['team'] });
  const cases: [string, Credentials | 'admin' | 'token', string][] = [
    ['admin', 'admin', 'kubernetes-admin'],
    ['bob', bob, 'bob'],
    ['local token', 'token', 'kdp:local'],
    ['token file', { token: TOKEN_FILE_TOKEN }, 'alice'],
  ];
  for (const [what, as, user] of cases) {
    log.length = 0;
    const res = await apiFetch(server, '/api/v1/namespaces', { as });
    assert.equal(res.status, 200, what);
    await res.arrayBuffer();
    await until('the request log', () => log.length > 0);
    assert.equal(log[0].user, user, what);
  }
});
