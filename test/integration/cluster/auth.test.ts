/**
 * A running cluster's apiserver as an attacker on the same machine sees it (root): user nobody
 * POSTs the issue's escalation pod without credentials, with a guessed token and with a client
 * certificate from another CA: 401 each time, no pod stored, no proof file written; nobody
 * cannot read the kubeconfig, the token or the CA key, nor connect to the socket. No process of
 * the cluster (supervisor, agents, workloads) carries the token or the admin key in its
 * command line. The kubeconfig works for the real kubectl and kdp's commands use the token.
 * Run as root: node --import tsx --test test/integration/cluster/auth.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ClusterPki } from '../../../dataplane/api/auth/pki.ts';
import { processTitle } from '../../../dataplane/cluster/cleanup-processes.ts';
import { kdp, uniqueCluster, withRootUnchanged } from './helpers.ts';

const run = promisify(execFile);
const NOBODY = 65534;

const ATTACK = `
const https = require('node:https');
const fs = require('node:fs');
const [url, body, certFile, keyFile, stateDir] = process.argv.slice(1);
const post = (extra) => new Promise((resolve) => {
  const req = https.request(url + '/api/v1/namespaces/default/pods', {
    method: 'POST', rejectUnauthorized: false,
    headers: { 'content-type': 'application/json', ...(extra.headers || {}) }, cert: extra.cert, key: extra.key,
  }, (res) => { let s = ''; res.on('data', (c) => (s += c)); res.on('end', () => resolve(res.statusCode + ' ' + s)); });
  req.on('error', (e) => resolve('error ' + e.message));
  req.end(body);
});
const tryRead = (f) => { try { fs.readFileSync(f); return 'readable'; } catch (e) { return e.code; } };
(async () => {
  const out = { uid: process.getuid() };
  out.none = await post({});
  out.token = await post({ headers: { authorization: 'Bearer guessed' } });
  out.forged = await post({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) });
  for (const f of ['kubeconfig', 'apiserver.token', 'pki/ca.key']) out[f] = tryRead(stateDir + '/' + f);
  out.socket = await new Promise((resolve) => {
    const s = require('node:net').connect(stateDir + '/apiserver.sock');
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e) => resolve(e.code));
  });
  console.log(JSON.stringify(out));
})();`;

function runAsNobody(args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['-e', ATTACK, ...args], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: '/',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.once('exit', () => resolve(out)));
}

/** Every process of the cluster: titled kdp:<cluster>:... */
function clusterPids(cluster: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => (processTitle(pid) ?? '').includes(`kdp:${cluster}:`));
}

test('nobody cannot create the escalation pod; no secret in any process argv; kubectl works with the kubeconfig', async (t) => {
  const cluster = uniqueCluster();
  const scratch = mkdtempSync(join(tmpdir(), 'kdp-auth-int-'));
  chmodSync(scratch, 0o755);
  await withRootUnchanged(t, cluster, async () => {
    const up = await kdp(['up', '--name', cluster, '--nodes', '2', '--pods-per-node', '1']);
    assert.equal(up.code, 0, up.stderr);
    try {
      const stateDir = `/run/kdp/${cluster}`;
      const record = JSON.parse(readFileSync(join(stateDir, 'cluster.json'), 'utf8'));
      const url: string = record.apiserverUrl;
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const kubeconfig = join(stateDir, 'kubeconfig');

      // The attacker's material: a certificate for the admin's very name from a CA of its own.
      const otherCa = await ClusterPki.open(join(scratch, 'pki'));
      const forged = await otherCa.issueClient({ user: 'kubernetes-admin', groups: ['system:masters'] });
      writeFileSync(join(scratch, 'forged.crt'), forged.cert, { mode: 0o644 });
      writeFileSync(join(scratch, 'forged.key'), forged.key, { mode: 0o644 });
      const proof = join(scratch, 'proof');
      const payload = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'esc' },
        spec: {
          nodeName: 'node-1',
          containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', `id > ${proof}`] }],
        },
      });
      const out = await runAsNobody([
        url,
        payload,
        join(scratch, 'forged.crt'),
        join(scratch, 'forged.key'),
        stateDir,
      ]);
      const got = JSON.parse(out);
      assert.equal(got.uid, NOBODY);
      for (const k of ['none', 'token', 'forged']) assert.match(got[k], /^401 .*"reason":"Unauthorized"/, k);
      for (const k of ['kubeconfig', 'apiserver.token', 'pki/ca.key', 'socket'])
        assert.equal(got[k], 'EACCES', k);

      // kubectl with the kubeconfig (TLS verified against the CA, the admin certificate).
      const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
      const nodes = await kubectl('get', 'nodes', '-o', 'name');
      assert.deepEqual(nodes.stdout.trim().split('\n').sort(), ['node/node-1', 'node/node-2']);
      await assert.rejects(kubectl('get', 'pod', 'esc'), /NotFound|not found/);
      // kdp's own commands reach the socket with the token file.
      const status = await kdp(['status', '--name', cluster, '--json']);
      assert.equal(status.code, 0, status.stderr);
      // The topology's two pods and the two cluster DNS pods (kube-system/coredns).
      assert.equal(JSON.parse(status.stdout).summary.podsReady, 4);
      assert.ok(!existsSync(proof), 'the escalation never ran');

      // No process of the cluster shows a secret on its command line.
      const kc = parseYaml(readFileSync(kubeconfig, 'utf8'));
      const token = readFileSync(join(stateDir, 'apiserver.token'), 'utf8').trim();
      const keyPem = Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString();
      const secrets = [
        token,
        keyPem.split('\n')[1],
        kc.users[0].user['client-key-data'].slice(0, 40),
        readFileSync(join(stateDir, 'pki', 'ca.key'), 'utf8').split('\n')[1],
      ];
      const pids = clusterPids(cluster);
      assert.ok(pids.length >= 3, `supervisor and two agents at least: ${pids.join(' ')}`);
      const agents = readdirSync(join(stateDir, 'nodes')).map((n) =>
        Number(readFileSync(join(stateDir, 'nodes', n, 'agent.pid'), 'utf8')),
      );
      for (const pid of [...new Set([...pids, ...agents])]) {
        let cmdline: string;
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue; // gone meanwhile
        }
        for (const secret of secrets) assert.ok(!cmdline.includes(secret), `pid ${pid} argv: ${cmdline}`);
      }
      for (const pid of agents) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (cmdline.includes('--token-file'))
          assert.equal(cmdline[cmdline.indexOf('--token-file') + 1], join(stateDir, 'apiserver.token'));
      }
    } finally {
      const down = await kdp(['down', '--name', cluster]);
      assert.equal(down.code, 0, down.stderr);
    }
  }).finally(() => rmSync(scratch, { recursive: true, force: true }));
});
