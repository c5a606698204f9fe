/**
 * The node agent process, one per node, started by the cluster builder inside the node's namespace:
 *
 *   nsenter --net=/run/netns/<node ns> -- node --import tsx dataplane/agent/main.ts \
 *     --cluster C --node NODE --socket /run/kdp/C/apiserver.sock --state-dir /run/kdp/C/nodes/NODE/
 *
 * It sets its process title to kdp:<cluster>:agent:<node>, logs JSON lines to stderr, runs until
 * SIGTERM or SIGINT (then stops without touching pods, exit 0), and exits 1 on a fatal error
 * (2 on bad arguments), for its supervisor to restart it. See README.md.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type ApiClient } from '../client/index.ts';
import { clusterPrefix } from '../cluster/topology-names.ts';
import { describeError, KdpError } from '../errors.ts';
import { createIproute2Kernel } from '../kernel/iproute2/kernel.ts';
import { overlayBackendNames } from '../overlay/backend.ts';
import { Agent } from './agent.ts';
import { isLogLevel, jsonLog } from './log.ts';
import { findOwnNamespace } from './node-netns.ts';

export const AGENT_USAGE = `usage: agent --cluster NAME --node NODE --socket PATH --state-dir DIR [options]

  --cluster NAME          cluster name (namespaces kdp-NAME-*)
  --node NODE             this node's Node object name
  --socket PATH           the apiserver's unix socket
  --state-dir DIR         where the agent keeps pod records, IPAM and logs
  --token-file PATH       bearer token for the apiserver
  --netns NAME            the node's namespace (default: the one the agent runs in)
  --overlay NAME          overlay backend (default host-gw; have: ${overlayBackendNames().join(', ')})
  --heartbeat-seconds N   Node status interval (default 10)
  --log-level LEVEL       debug, info, warn or error (default info)
  -h, --help              this text`;

const USAGE = 'KDP_ERR_USAGE';

interface AgentArgs {
  cluster: string;
  node: string;
  socket: string;
  stateDir: string;
  tokenFile?: string;
  netns?: string;
  overlay: string;
  heartbeatSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function parse(argv: string[]): AgentArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string' },
      node: { type: 'string' },
      socket: { type: 'string' },
      'state-dir': { type: 'string' },
      'token-file': { type: 'string' },
      netns: { type: 'string' },
      overlay: { type: 'string', default: 'host-gw' },
      'heartbeat-seconds': { type: 'string', default: '10' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const missing = ['cluster', 'node', 'socket', 'state-dir'].filter((k) => !values[k as keyof typeof values]);
  if (missing.length) throw new KdpError(USAGE, `missing ${missing.map((m) => `--${m}`).join(', ')}`);
  const heartbeatSeconds = Number(values['heartbeat-seconds']);
  if (!(heartbeatSeconds > 0)) throw new KdpError(USAGE, `--heartbeat-seconds must be a positive number`);
  const logLevel = values['log-level']!;
  if (!isLogLevel(logLevel)) throw new KdpError(USAGE, `--log-level must be debug, info, warn or error`);
  if (!overlayBackendNames().includes(values.overlay!)) {
    throw new KdpError(USAGE, `--overlay must be one of ${overlayBackendNames().join(', ')}`);
  }
  return {
    cluster: values.cluster!,
    node: values.node!,
    socket: values.socket!,
    stateDir: values['state-dir']!,
    tokenFile: values['token-file'],
    netns: values.netns,
    overlay: values.overlay!,
    heartbeatSeconds,
    logLevel,
  };
}

/** Runs the agent until SIGTERM/SIGINT; resolves with the exit code. */
export async function runAgent(argv: string[]): Promise<number> {
  let args: AgentArgs | 'help';
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`agent: ${(e as Error).message}\n${AGENT_USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return 0;
  }
  process.title = `kdp:${args.cluster}:agent:${args.node}`;
  const log = jsonLog(args.logLevel, { component: 'agent', cluster: args.cluster, node: args.node });
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    log('info', `${sig}: stopping (pods keep running)`);
    stop.abort(new KdpError('KDP_ERR_AGENT_STOPPED', `stopped by ${sig}`));
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  let client: ApiClient | undefined;
  let agent: Agent | undefined;
  try {
    const token = args.tokenFile ? (await readFile(args.tokenFile, 'utf8')).trim() : undefined;
    client = connect({ socketPath: args.socket, token });
    const kernel = createIproute2Kernel({ prefix: clusterPrefix(args.cluster) });
    const netns = args.netns ?? (await findOwnNamespace(kernel));
    agent = await Agent.start({
      client,
      kernel,
      cluster: args.cluster,
      nodeName: args.node,
      netns,
      stateDir: args.stateDir,
      log,
      overlay: args.overlay,
      heartbeatMs: args.heartbeatSeconds * 1000,
      signal: stop.signal,
    });
    if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve));
    return 0;
  } catch (e) {
    if (stop.signal.aborted) return 0;
    log('error', 'agent failed', { error: describeError(e), code: (e as KdpError).code });
    return 1;
  } finally {
    await agent?.close();
    client?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('uncaughtException', (e) => {
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'uncaught', error: describeError(e) })}\n`,
    );
    process.exit(1);
  });
  process.exit(await runAgent(process.argv.slice(2)));
}
