// The kdp executable end to end: bin/kdp through a symlink from another working directory,
// `version`, usage errors exiting 2, and `kdp apiserver` starting, answering kubectl's kubeconfig
// path, and stopping cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchWith } from '../../fixtures/api-fetch.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'kdp');

function withLinkedBin(body: (kdp: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-cli-'));
  const link = join(dir, 'kdp');
  symlinkSync(BIN, link);
  return body(link, dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function run(
  kdp: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(kdp, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('kdp version through a symlink, from another directory', () =>
  withLinkedBin(async (kdp, dir) => {
    const r = await run(kdp, ['version', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.match(v.kdp, /^\d+\.\d+\.\d+/);
    assert.match(v.kubernetes, /^v1\.32\./);
  }));

test('bad flags exit 2 with a message saying what is wrong', () =>
  withLinkedBin(async (kdp, dir) => {
    const cases: [string[], RegExp][] = [
      [['apiserver', '--bogus'], /unknown option '--bogus'/],
      [['apiserver', '--listen', 'nowhere:port'], /--listen "nowhere:port"/],
      [['apiserver', '--node-port-range', '32767-30000'], /--node-port-range "32767-30000"/],
      [
        ['apiserver', '--service-cidr', '10.96.0.0/40', '--state-dir', join(dir, 's')],
        /--service-cidr: .*10\.96\.0\.0\/40/,
      ],
      // No secret on the command line: --token is gone; --token-file takes a private file.
      [['apiserver', '--token', 'secret'], /unknown option '--token'/],
      [
        ['apiserver', '--token-file', join(dir, 'missing.csv'), '--state-dir', join(dir, 's')],
        /cannot read the token file/,
      ],
      [
        [
          'apiserver',
          '--insecure-allow-unauthenticated',
          '--listen',
          '0.0.0.0:0',
          '--state-dir',
          join(dir, 's'),
        ],
        /refusing to serve without authentication on 0\.0\.0\.0/,
      ],
      [['no-such-command'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = await run(kdp, args, dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  }));

test('kdp apiserver serves until SIGTERM, then stops cleanly', () =>
  withLinkedBin(async (kdp, dir) => {
    const stateDir = join(dir, 'state');
    const child = spawn(kdp, ['apiserver', '--state-dir', stateDir, '--json'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        child.once('exit', () => reject(new Error(`kdp apiserver exited early: ${stderr}`)));
      });
      const info = JSON.parse(line);
      assert.equal(info.kubeconfig, join(stateDir, 'kubeconfig'));
      assert.equal(info.socketPath, join(stateDir, 'apiserver.sock'));
      const token = readFileSync(info.tokenFile, 'utf8').trim();
      const ca = readFileSync(join(stateDir, 'pki', 'ca.crt'), 'utf8');
      assert.match(info.url, /^https:/);
      assert.equal((await fetchWith(`${info.url}/api/v1/namespaces/default`, { ca, token })).status, 200);
      assert.equal((await fetchWith(`${info.url}/api/v1/namespaces/default`, { ca })).status, 401);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.ok(!existsSync(info.socketPath), 'the socket file is removed on a clean stop');
    } finally {
      child.kill('SIGKILL');
    }
  }));
