// The HTTP transport over TLS as a real cluster needs it: server verified against a CA, client
// certificate auth, insecure-skip-tls-verify, and the same through a kubeconfig with -data fields.
// Certificates are made fresh with the openssl CLI; the test is skipped where there is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createHttpTransport } from '../../../dataplane/client/http-transport.ts';
import { connect } from '../../../dataplane/client/index.ts';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

function makePki(dir: string) {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=kdp-test-ca',
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    ossl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=kdp-test-${who}`);
    ossl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.crt`,
      '-days',
      '1',
      '-extfile',
      `${who}.ext`,
    );
  }
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    cert: read('client.crt'),
    key: read('client.key'),
  };
}

test(
  'TLS: CA verification, client certificates, insecure-skip-tls-verify, kubeconfig',
  { skip: !hasOpenssl && 'no openssl' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-tls-'));
    const pki = makePki(dir);
    const server = https.createServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            client: (req.socket as TLSSocket).authorized ? peer.subject?.CN : null,
            auth: req.headers.authorization ?? null,
          }),
        );
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = (t: ReturnType<typeof createHttpTransport>) =>
      t.request({ method: 'GET', path: '/version' }).finally(() => t.close());
    try {
      assert.deepEqual(await get(createHttpTransport({ url, ca: pki.ca, cert: pki.cert, key: pki.key })), {
        client: 'kdp-test-client',
        auth: null,
      });
      writeFileSync(join(dir, 'ca-file.crt'), pki.ca);
      assert.deepEqual(
        await get(createHttpTransport({ url, caFile: join(dir, 'ca-file.crt'), token: 't' })),
        {
          client: null,
          auth: 'Bearer t',
        },
      );
      // Without the CA the server's certificate is not trusted...
      await assert.rejects(get(createHttpTransport({ url })), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'KDP_ERR_API_UNREACHABLE');
        assert.ok(e.message.includes(url), e.message);
        return true;
      });
      // ...unless verification is off.
      assert.deepEqual(await get(createHttpTransport({ url, insecureSkipTLSVerify: true })), {
        client: null,
        auth: null,
      });

      const b64 = (b: Buffer) => b.toString('base64');
      writeFileSync(
        join(dir, 'kubeconfig'),
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: test',
          'contexts: [{name: test, context: {cluster: c, user: u}}]',
          `clusters: [{name: c, cluster: {server: "${url}", certificate-authority-data: ${b64(pki.ca)}}}]`,
          `users: [{name: u, user: {client-certificate-data: ${b64(pki.cert)}, client-key-data: ${b64(pki.key)}}}]`,
        ].join('\n'),
      );
      const client = connect({ kubeconfig: join(dir, 'kubeconfig') });
      try {
        assert.deepEqual(await client.raw({ method: 'GET', path: '/version' }), {
          client: 'kdp-test-client',
          auth: null,
        });
      } finally {
        client.close();
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
