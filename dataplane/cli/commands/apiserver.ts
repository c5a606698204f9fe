/**
 * `kdp apiserver`: runs the embedded apiserver in the foreground until SIGINT or SIGTERM, and
 * says where its kubeconfig is and how to point kubectl at it. Controllers are started through
 * the `startControllers` hook, so this command does not need to know which ones exist.
 */
import { Command } from 'commander';
import { isKdpError } from '../../errors.ts';
import {
  ApiServer,
  type ApiServerOptions,
  DEFAULT_SERVICE_CIDR,
  INSECURE_ERROR,
} from '../../api/apiserver.ts';
import { TOKEN_FILE_ERROR } from '../../api/auth/authenticator.ts';
import { usageError } from '../usage.ts';

/** Something started alongside the apiserver that must stop before it. */
export interface Stoppable {
  close(): Promise<void> | void;
}

export interface ApiserverCommandHooks {
  /** Starts the controllers (EndpointSlice, node IPAM, ...) against the running apiserver. */
  startControllers?(server: ApiServer): Promise<Stoppable> | Stoppable;
}

interface Flags {
  dataDir?: string;
  listen: string;
  socket?: string;
  tokenFile?: string;
  insecureAllowUnauthenticated?: boolean;
  serviceCidr: string;
  denyServiceExternalIps?: boolean;
  nodePortRange: string;
  stateDir: string;
  logRequests?: boolean;
  json?: boolean;
}

/** `HOST:PORT`, `[V6]:PORT` or `PORT`. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw usageError(
      `--listen "${s}": expected HOST:PORT or PORT (e.g. 127.0.0.1:6443; port 0 picks a free one)`,
    );
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** `A-B` with 1 <= A <= B <= 65535. */
export function parsePortRange(s: string): { first: number; last: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(s.trim());
  const first = m ? Number(m[1]) : NaN;
  const last = m ? Number(m[2]) : NaN;
  if (!m || first < 1 || last > 65535 || first > last) {
    throw usageError(
      `--node-port-range "${s}": expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535 (e.g. 30000-32767)`,
    );
  }
  return { first, last };
}

function optionsFrom(flags: Flags): ApiServerOptions {
  const listen = parseListen(flags.listen);
  return {
    host: listen.host,
    port: listen.port,
    socketPath: flags.socket === 'none' ? false : flags.socket,
    tokenFile: flags.tokenFile,
    insecureAllowUnauthenticated: flags.insecureAllowUnauthenticated,
    dataDir: flags.dataDir,
    stateDir: flags.stateDir,
    serviceCIDR: flags.serviceCidr,
    denyServiceExternalIPs: flags.denyServiceExternalIps === true,
    nodePortRange: parsePortRange(flags.nodePortRange),
    onRequest: flags.logRequests
      ? (r) =>
          console.error(
            `${r.method} ${r.path}${r.query} ${r.code} ${r.durationMs.toFixed(1)}ms${r.watchEnd ? ` (${r.watchEnd})` : ''}`,
          )
      : undefined,
  };
}

function describeStart(server: ApiServer, flags: Flags): string {
  const lines = [`kdp apiserver listening on ${server.url ?? '(no TCP listener)'}`];
  if (server.socketPath) lines.push(`  unix socket: ${server.socketPath}`);
  if (server.credentials) {
    lines.push(
      "  TLS with the cluster CA; clients authenticate by client certificate (the kubeconfig has the admin's)",
      `  or bearer token (the local one is in ${server.credentials.tokenPath}${flags.tokenFile ? `, more in ${flags.tokenFile}` : ''})`,
    );
  } else lines.push('  WITHOUT AUTHENTICATION (--insecure-allow-unauthenticated)');
  lines.push(
    `  data: ${flags.dataDir ? `${flags.dataDir}/state.db` : 'in memory only (--data-dir DIR keeps objects across restarts)'}`,
    `kubeconfig: ${server.kubeconfigPath}`,
    `  kubectl --kubeconfig ${server.kubeconfigPath} get namespaces`,
    `  or: export KUBECONFIG=${server.kubeconfigPath}`,
    'Ctrl-C stops it.',
  );
  return lines.join('\n');
}

export function apiserverCommand(hooks: ApiserverCommandHooks = {}): Command {
  return new Command('apiserver')
    .description('run the embedded Kubernetes apiserver (kubectl and client libraries work against it)')
    .option('--data-dir <dir>', 'keep objects in DIR/state.db across restarts (default: in memory only)')
    .option('--listen <addr>', 'TCP address, HOST:PORT or PORT; port 0 picks a free one', '127.0.0.1:0')
    .option('--socket <path>', 'unix socket path, "none" for no socket (default: STATE_DIR/apiserver.sock)')
    .option(
      '--token-file <file>',
      'more bearer tokens clients may present, one "token,user,uid[,\"group1,group2\"]" per line (mode 0600), as kube-apiserver --token-auth-file',
    )
    .option(
      '--insecure-allow-unauthenticated',
      'DANGEROUS: plain HTTP and no authentication, only on a loopback address, for throwaway machines',
    )
    .option('--service-cidr <cidr>', 'CIDR ClusterIPs are allocated from', DEFAULT_SERVICE_CIDR)
    .option(
      '--deny-service-external-ips',
      'refuse every Service externalIP, as upstream DenyServiceExternalIPs (addresses in the service CIDR are always refused)',
    )
    .option('--node-port-range <first-last>', 'range NodePorts are allocated from', '30000-32767')
    .option('--state-dir <dir>', 'where the kubeconfig and the socket are written', '.kdp')
    .option('--log-requests', 'log every request to stderr')
    .option('--json', 'print where it listens as one JSON line instead of the text')
    .action(async (flags: Flags) => {
      const opts = optionsFrom(flags);
      let server: ApiServer;
      try {
        server = await ApiServer.start(opts);
      } catch (e) {
        if (isKdpError(e, 'KDP_ERR_SERVICE_CIDR')) throw usageError(`--service-cidr: ${e.message}`);
        if (isKdpError(e, INSECURE_ERROR) || isKdpError(e, TOKEN_FILE_ERROR)) throw usageError(e.message);
        throw e;
      }
      let controllers: Stoppable | undefined;
      try {
        controllers = await hooks.startControllers?.(server);
      } catch (e) {
        await server.close();
        throw e;
      }
      if (flags.json) {
        console.log(
          JSON.stringify({
            url: server.url,
            socketPath: server.socketPath,
            kubeconfig: server.kubeconfigPath,
            tokenFile: server.credentials?.tokenPath,
          }),
        );
      } else console.log(describeStart(server, flags));
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          process.exit(130); // a second signal: the user wants out now
        }
        stopping = true;
        if (!flags.json) console.error(`${signal}: stopping`);
        void (async () => {
          try {
            await controllers?.close();
          } finally {
            await server.close();
          }
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        })().catch((e: unknown) => {
          console.error(`error while stopping: ${String(e)}`);
          process.exitCode = 1;
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
