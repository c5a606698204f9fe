// The apiserver's PKI and credential files: modes, the serving certificate's names, the CA kept
// across a restart (old admin credentials keep working) and replaced when unusable; kdp's client
// refusing a server its CA did not sign; the token file's format and mode; the insecure mode
// refused off loopback and serving without authentication on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ApiServer, INSECURE_ERROR } from '../../../dataplane/api/apiserver.ts';
import { readTokenFile, TOKEN_FILE_ERROR } from '../../../dataplane/api/auth/authenticator.ts';
import { ClusterPki } from '../../../dataplane/api/auth/pki.ts';
import { connect } from '../../../dataplane/client/index.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { apiFetch, fetchWith } from '../../fixtures/api-fetch.ts';

function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-auth-pki-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const mode = (path: string) => statSync(path).mode & 0o777;

test('secrets are private: pki/ 0700, keys, token and kubeconfig 0600', () =>
  withDir(async (dir) => {
    await using server = await ApiServer.start({ stateDir: dir, socketPath: false });
    assert.equal(mode(join(dir, 'pki')), 0o700);
    for (const f of ['pki/ca.key', 'pki/apiserver.key', 'apiserver.token', 'kubeconfig'])
      assert.equal(mode(join(dir, f)), 0o600, f);
    assert.equal(server.credentials!.tokenPath, join(dir, 'apiserver.token'));
    assert.match(readFileSync(server.credentials!.tokenPath, 'utf8'), /^[A-Za-z0-9_-]{43}\n$/);
  }));

test('the serving certificate names loopback, localhost and the listen address, for serverAuth', () =>
  withDir(async (dir) => {
    await using server = await ApiServer.start({ stateDir: dir, host: '127.0.0.2', socketPath: false });
    const cert = new X509Certificate(readFileSync(join(dir, 'pki', 'apiserver.crt')));
    const sans = cert.subjectAltName!.split(', ').sort();
    assert.deepEqual(sans, [
      'DNS:localhost',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:127.0.0.1',
      'IP Address:127.0.0.2',
    ]);
    assert.ok(cert.verify(new X509Certificate(server.credentials!.ca).publicKey), 'signed by the cluster CA');
    assert.match(server.url!, /^https:\/\/127\.0\.0\.2:/);
    assert.equal((await apiFetch(server, '/api/v1/namespaces')).status, 200);
  }));

test('a wildcard listen address puts every interface address in the serving certificate', () =>
  withDir(async (dir) => {
    const pki = await ClusterPki.open(dir);
    const cert = new X509Certificate((await pki.issueServing(['0.0.0.0'])).cert);
    const sans = cert.subjectAltName!;
    const v4 = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4')
      .map((a) => a!.address);
    assert.ok(v4.length > 0);
    for (const a of v4) assert.ok(sans.includes(`IP Address:${a}`), `${a} in ${sans}`);
    assert.ok(!sans.includes('0.0.0.0'), 'the wildcard itself is no name');
  }));

test('a restart keeps the CA: the credentials written before it still work; an unusable CA is replaced', () =>
  withDir(async (dir) => {
    const opts = { stateDir: dir, dataDir: join(dir, 'data'), socketPath: false as const };
    let old: { ca: string; cert: string; key: string };
    {
      await using first = await ApiServer.start(opts);
      const c = first.credentials!;
      old = { ca: c.ca, cert: c.admin.cert, key: c.admin.key };
    }
    {
      await using second = await ApiServer.start(opts);
      assert.equal(second.credentials!.ca, old.ca, 'same CA');
      const res = await fetchWith(`${second.url}/api/v1/namespaces`, old);
      assert.equal(res.status, 200, 'the old kubeconfig credentials are accepted');
    }
    writeFileSync(join(dir, 'pki', 'ca.key'), 'not a key', { mode: 0o600 });
    await using third = await ApiServer.start(opts);
    assert.notEqual(third.credentials!.ca, old.ca, 'a CA whose key is unusable is replaced');
    const res = await fetchWith(`${third.url}/api/v1/namespaces`, { ...old, ca: third.credentials!.ca });
    assert.equal(res.status, 401, 'certificates of the replaced CA are no longer accepted');
  }));

test("kdp's client verifies the server: a kubeconfig with another cluster's CA does not connect", () =>
  withDir(async (dir) => {
    await using server = await ApiServer.start({ stateDir: join(dir, 'a'), socketPath: false });
    const other = await ClusterPki.open(join(dir, 'other'));
    const kc = parseYaml(readFileSync(server.kubeconfigPath, 'utf8'));
    kc.clusters[0].cluster['certificate-authority-data'] = Buffer.from(other.caCert).toString('base64');
    const path = join(dir, 'wrong-ca.kubeconfig');
    writeFileSync(path, JSON.stringify(kc), { mode: 0o600 });
    const bad = connect({ kubeconfig: path });
    const good = connect({ kubeconfig: server.kubeconfigPath });
    try {
      await assert.rejects(
        bad.raw({ method: 'GET', path: '/healthz' }),
        (e) => isKdpError(e, 'KDP_ERR_API_UNREACHABLE') && /certificate is not trusted/.test(e.message),
      );
      assert.equal(await good.raw({ method: 'GET', path: '/healthz' }), 'ok');
    } finally {
      bad.close();
      good.close();
    }
  }));

test('the token file: kube-apiserver format with quoted groups; refused when group/other may read it or a line is bad', () =>
  withDir(async (dir) => {
    const file = join(dir, 'tokens.csv');
    writeFileSync(file, '# comment\n\ntok1,alice,1001,"dev,ops"\ntok2,bob,\n', { mode: 0o600 });
    assert.deepEqual(readTokenFile(file), [
      { token: 'tok1', user: 'alice', uid: '1001', groups: ['dev', 'ops'] },
      { token: 'tok2', user: 'bob', uid: undefined, groups: [] },
    ]);
    writeFileSync(join(dir, 'open.csv'), 'tok,alice,1\n', { mode: 0o644 });
    assert.throws(
      () => readTokenFile(join(dir, 'open.csv')),
      (e) => isKdpError(e, TOKEN_FILE_ERROR) && /mode 0644.*chmod 600/.test(e.message),
    );
    for (const [line, why] of [
      ['tok,alice', /expected token,user,uid/],
      [',alice,1', /token is empty/],
      ['tok,"alice,1', /unbalanced quotes/],
    ] as const) {
      writeFileSync(file, `ok,carol,2\n${line}\n`, { mode: 0o600 });
      assert.throws(
        () => readTokenFile(file),
        (e) => isKdpError(e, TOKEN_FILE_ERROR) && /line 2/.test(e.message) && why.test(e.message),
        line,
      );
    }
    await assert.rejects(
      ApiServer.start({ stateDir: join(dir, 's'), tokenFile: join(dir, 'missing.csv') }),
      (e) => isKdpError(e, TOKEN_FILE_ERROR),
    );
  }));

test('the insecure mode is refused off loopback, and on loopback serves plain HTTP without authentication', () =>
  withDir(async (dir) => {
    for (const host of ['0.0.0.0', '::', '198.18.0.1', 'example.com'])
      await assert.rejects(
        ApiServer.start({ stateDir: join(dir, 'refused'), host, insecureAllowUnauthenticated: true }),
        (e) => isKdpError(e, INSECURE_ERROR) && e.message.includes(host),
        host,
      );
    mkdirSync(join(dir, 'ok'));
    await using server = await ApiServer.start({
      stateDir: join(dir, 'ok'),
      socketPath: false,
      insecureAllowUnauthenticated: true,
    });
    assert.match(server.url!, /^http:\/\/127\.0\.0\.1:/);
    assert.equal(server.credentials, undefined);
    assert.equal((await fetchWith(`${server.url}/api/v1/namespaces`)).status, 200);
    const kc = parseYaml(readFileSync(server.kubeconfigPath, 'utf8'));
    assert.equal(kc.clusters[0].cluster['insecure-skip-tls-verify'], true);
    assert.deepEqual(kc.users[0].user, {});
    assert.throws(
      () => server.issueClientCertificate({ user: 'x' }),
      (e) => isKdpError(e, INSECURE_ERROR),
    );
  }));
