/**
 * Runs the real kubectl against a started ApiServer: a temp state dir with the kubeconfig the
 * server writes, HOME and the discovery cache inside it (so nothing outside is read or written),
 * and helpers to run a command or to follow a long-running one (`get -w`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../dataplane/api/apiserver.ts';

export const KUBECTL = '/usr/bin/kubectl';
export const noKubectl = existsSync(KUBECTL) ? false : `${KUBECTL} is not installed`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class KubectlHarness {
  private constructor(
    readonly server: ApiServer,
    readonly dir: string,
  ) {}

  static async start(): Promise<KubectlHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-kubectl-'));
    const server = await ApiServer.start({ stateDir: dir, port: 0 });
    return new KubectlHarness(server, dir);
  }

  private args(args: string[]): string[] {
    return [...args, '--kubeconfig', this.server.kubeconfigPath, '--cache-dir', join(this.dir, 'cache')];
  }

  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: this.dir, KUBECONFIG: '' };
  }

  /** Runs kubectl to completion (bounded at 60 s), with `input` on stdin. */
  run(args: string[], input?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        KUBECTL,
        this.args(args),
        { env: this.env(), timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          if (err && code === -1) return reject(err);
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end(input ?? '');
    });
  }

  /** Like run, but fails unless kubectl exits 0. */
  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts a long-running kubectl; `output()` is what it printed so far. */
  follow(args: string[]): { child: ChildProcess; output: () => string } {
    const child = spawn(KUBECTL, this.args(args), { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    return { child, output: () => out };
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
