// kubeconfig loading: which file, which context, credentials from data or files, and an error
// naming the field for each way a kubeconfig can be wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KdpError } from '../../../dataplane/errors.ts';
import { kubeconfigPath, loadKubeconfig } from '../../../dataplane/client/kubeconfig.ts';

const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB\n-----END ${what}-----\n`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A valid config as an object; tests break one field at a time. */
function config() {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'main',
    contexts: [
      { name: 'main', context: { cluster: 'c1', user: 'u1', namespace: 'team' } },
      { name: 'other', context: { cluster: 'c2', user: 'u2' } },
      { name: 'anon', context: { cluster: 'c2' } },
    ],
    clusters: [
      {
        name: 'c1',
        cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64(PEM('CERTIFICATE')) },
      },
      { name: 'c2', cluster: { server: 'http://127.0.0.1:8080', 'insecure-skip-tls-verify': true } },
    ] as { name: string; cluster: Record<string, unknown> }[],
    users: [
      { name: 'u1', user: { token: 'abc' } },
      {
        name: 'u2',
        user: {
          'client-certificate-data': b64(PEM('CERTIFICATE')),
          'client-key-data': b64(PEM('EC PRIVATE KEY')),
        },
      },
    ] as { name: string; user: Record<string, unknown> }[],
  };
}

function write(dir: string, doc: unknown, name = 'config'): string {
  const p = join(dir, name);
  // JSON is YAML: the loader must accept either.
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return p;
}

test('current context: server, CA data, token, namespace', (t) => {
  const dir = tempDir(t);
  const kc = loadKubeconfig({ path: write(dir, config()) });
  assert.equal(kc.context, 'main');
  assert.equal(kc.cluster, 'c1');
  assert.equal(kc.user, 'u1');
  assert.equal(kc.namespace, 'team');
  assert.equal(kc.server, 'https://10.0.0.1:6443');
  assert.equal(kc.ca?.toString(), PEM('CERTIFICATE'));
  assert.equal(kc.token, 'abc');
  assert.equal(kc.insecureSkipTLSVerify, false);
  assert.equal(kc.cert, undefined);
});

test('a named context with client certificate data, and one with no user', (t) => {
  const dir = tempDir(t);
  const p = write(dir, config());
  const kc = loadKubeconfig({ path: p, context: 'other' });
  assert.equal(kc.server, 'http://127.0.0.1:8080');
  assert.equal(kc.insecureSkipTLSVerify, true);
  assert.equal(kc.namespace, 'default');
  assert.equal(kc.cert?.toString(), PEM('CERTIFICATE'));
  assert.equal(kc.key?.toString(), PEM('EC PRIVATE KEY'));
  assert.equal(kc.token, undefined);
  const anon = loadKubeconfig({ path: p, context: 'anon' });
  assert.equal(anon.user, undefined);
  assert.equal(anon.token, undefined);
});

test('file references are read relative to the kubeconfig, YAML as kubectl writes it', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'pki'));
  writeFileSync(join(dir, 'pki', 'ca.crt'), PEM('CERTIFICATE'));
  writeFileSync(join(dir, 'pki', 'me.crt'), PEM('CERTIFICATE'));
  writeFileSync(join(dir, 'pki', 'me.key'), PEM('PRIVATE KEY'));
  writeFileSync(join(dir, 'token'), 'tok-from-file\n');
  const yaml = `apiVersion: v1
kind: Config
current-context: files
contexts:
- name: files
  context:
    cluster: c
    user: u
clusters:
- name: c
  cluster:
    server: https://k8s.example:6443
    certificate-authority: pki/ca.crt
users:
- name: u
  user:
    tokenFile: token
    client-certificate: pki/me.crt
    client-key: ${join(dir, 'pki', 'me.key')}
`;
  const kc = loadKubeconfig({ path: write(dir, yaml) });
  assert.equal(kc.ca?.toString(), PEM('CERTIFICATE'));
  assert.equal(kc.token, 'tok-from-file');
  assert.equal(kc.cert?.toString(), PEM('CERTIFICATE'));
  assert.equal(kc.key?.toString(), PEM('PRIVATE KEY'));
});

test('which file: the path given, else the first of $KUBECONFIG, else ~/.kube/config', (t) => {
  const dir = tempDir(t);
  assert.equal(kubeconfigPath({ KUBECONFIG: `${delimiter}/a/one${delimiter}/b/two` }, '/home/x'), '/a/one');
  assert.equal(kubeconfigPath({}, '/home/x'), join('/home/x', '.kube', 'config'));
  mkdirSync(join(dir, '.kube'));
  write(join(dir, '.kube'), config());
  assert.equal(loadKubeconfig({ env: {}, home: dir }).server, 'https://10.0.0.1:6443');
  const other = write(dir, { ...config(), 'current-context': 'other' }, 'other');
  assert.equal(loadKubeconfig({ env: { KUBECONFIG: other }, home: dir }).context, 'other');
});

/** Each broken config, and the field its error must name. */
const BROKEN: [string, (c: ReturnType<typeof config>) => unknown, string, RegExp?][] = [
  ['no current-context', (c) => ({ ...c, 'current-context': undefined }), 'current-context'],
  ['context not found', (c) => ({ ...c, 'current-context': 'nope' }), 'contexts[name="nope"]'],
  ['contexts not a list', (c) => ({ ...c, contexts: { main: {} } }), 'contexts'],
  [
    'context without cluster',
    (c) => ({ ...c, contexts: [{ name: 'main', context: { user: 'u1' } }] }),
    'contexts[name="main"].context.cluster',
  ],
  ['cluster not found', (c) => ({ ...c, clusters: [c.clusters[1]] }), 'clusters[name="c1"]'],
  [
    'cluster entry without body',
    (c) => ({ ...c, clusters: [{ name: 'c1' }] }),
    'clusters[name="c1"].cluster',
  ],
  [
    'server missing',
    (c) => ((c.clusters[0].cluster.server = undefined), c),
    'clusters[name="c1"].cluster.server',
  ],
  [
    'server not a URL',
    (c) => ((c.clusters[0].cluster.server = '10.0.0.1:6443'), c),
    'clusters[name="c1"].cluster.server',
  ],
  [
    'CA data not base64',
    (c) => ((c.clusters[0].cluster['certificate-authority-data'] = 'not base64!'), c),
    'clusters[name="c1"].cluster.certificate-authority-data',
  ],
  [
    'CA data not PEM',
    (c) => ((c.clusters[0].cluster['certificate-authority-data'] = b64('hello')), c),
    'clusters[name="c1"].cluster.certificate-authority-data',
  ],
  [
    'CA file missing',
    (c) => (
      delete c.clusters[0].cluster['certificate-authority-data'],
      (c.clusters[0].cluster['certificate-authority'] = 'missing.crt'),
      c
    ),
    'clusters[name="c1"].cluster.certificate-authority',
  ],
  [
    'insecure-skip-tls-verify not a boolean',
    (c) => ((c.clusters[0].cluster['insecure-skip-tls-verify'] = 'yes'), c),
    'clusters[name="c1"].cluster.insecure-skip-tls-verify',
  ],
  ['user not found', (c) => ({ ...c, users: [c.users[1]] }), 'users[name="u1"]'],
  [
    'exec plugin',
    (c) => ((c.users[0].user = { exec: { command: 'aws' } }), c),
    'users[name="u1"].user.exec',
    /exec credential plugin.*not run/,
  ],
  [
    'auth provider',
    (c) => ((c.users[0].user = { 'auth-provider': { name: 'gcp' } }), c),
    'users[name="u1"].user.auth-provider',
  ],
  [
    'basic auth',
    (c) => ((c.users[0].user = { username: 'a', password: 'b' }), c),
    'users[name="u1"].user.username',
  ],
  ['empty token', (c) => ((c.users[0].user = { token: '' }), c), 'users[name="u1"].user.token'],
  [
    'token file missing',
    (c) => ((c.users[0].user = { tokenFile: '/nonexistent/token' }), c),
    'users[name="u1"].user.tokenFile',
  ],
  [
    'certificate without key',
    (c) => ((c.users[0].user = { 'client-certificate-data': b64(PEM('CERTIFICATE')) }), c),
    'users[name="u1"].user.client-key',
  ],
  [
    'key without certificate',
    (c) => ((c.users[0].user = { 'client-key-data': b64(PEM('PRIVATE KEY')) }), c),
    'users[name="u1"].user.client-certificate',
  ],
  [
    'client key data not PEM',
    (c) => (
      (c.users[0].user = { 'client-certificate-data': b64(PEM('CERTIFICATE')), 'client-key-data': b64('x') }),
      c
    ),
    'users[name="u1"].user.client-key-data',
  ],
];

for (const [what, breakIt, field, message] of BROKEN) {
  test(`bad kubeconfig: ${what} -> KDP_ERR_KUBECONFIG_INVALID naming ${field}`, (t) => {
    const dir = tempDir(t);
    const p = write(dir, breakIt(config()));
    assert.throws(
      () => loadKubeconfig({ path: p }),
      (e: unknown) => {
        assert.ok(e instanceof KdpError);
        assert.equal(e.code, 'KDP_ERR_KUBECONFIG_INVALID');
        assert.equal(e.details?.field, field);
        assert.ok(e.message.includes(p) && e.message.includes(field), e.message);
        if (message) assert.match(e.message, message);
        return true;
      },
    );
  });
}

test('bad kubeconfig: missing file, invalid YAML, not a mapping', (t) => {
  const dir = tempDir(t);
  const expectFileError = (path: string, re: RegExp) =>
    assert.throws(
      () => loadKubeconfig({ path }),
      (e: unknown) => {
        assert.ok(e instanceof KdpError);
        assert.equal(e.code, 'KDP_ERR_KUBECONFIG_INVALID');
        assert.equal(e.details?.field, 'file');
        assert.match(e.message, re);
        return true;
      },
    );
  expectFileError(join(dir, 'absent'), /cannot be read \(ENOENT\)/);
  expectFileError(write(dir, 'a: [1, 2', 'broken'), /not valid YAML/);
  expectFileError(write(dir, '- just\n- a list\n', 'list'), /not a YAML mapping/);
});
