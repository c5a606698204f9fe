/**
 * The node agent process, one per node, started by the cluster builder inside the node's namespace:
 *
 *   nsenter --net=/run/netns/<node ns> -- node --import tsx dataplane/agent/main.ts \
 *     --cluster C --node NODE --socket /run/kdp/C/apiserver.sock --state-dir /run/kdp/C/nodes/NODE/
 *
 * It sets its process title to kdp:<cluster>:agent:<node>, logs JSON lines to stderr, runs until
 * SIGTERM or SIGINT (then stops without touching pods or proxy rules, exit 0), exits 1 on a fatal error
 * (2 on bad arguments), for its supervisor to restart it. See README.md.
 */
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type ApiClient } from '../client/index.ts';
import { clusterPrefix } from '../cluster/topology-names.ts';
import { describeError, KdpError } from '../errors.ts';
import { isNetworkCidr } from '../kernel/cidr.ts';
import { createIproute2Kernel } from '../kernel/iproute2/kernel.ts';
import { overlayBackendNames } from '../overlay/backends/registry.ts';
import { overlayEngineProblem, overlayOptions } from '../overlay/options.ts';
import { DEFAULT_METRICS_ADDRESS, parseBindAddress } from '../proxy/metrics-server.ts';
import {
  cleanupProxyModes,
  DEFAULT_PROXY_MODE,
  proxyModeFlags,
  proxyModeNames,
  resolveModeFlags,
} from '../proxy/modes.ts';
import { Agent } from './agent.ts';
import { isLogLevel, jsonLog } from '../log.ts';
import { findOwnNamespace } from './node-netns.ts';
import { watchSupervisor } from './supervisor-watch.ts';

/** The usage text; modes and their flags from the registry (proxy/modes.ts). */
export const agentUsage =
  () => `usage: agent --cluster NAME --node NODE --socket PATH --state-dir DIR [options]
       agent --cluster NAME --cleanup [--netns NAME]

  --cluster NAME          cluster name (namespaces kdp-NAME-*)
  --node NODE             this node's Node object name
  --socket PATH           the apiserver's unix socket
  --state-dir DIR         where the agent keeps pod records, IPAM and logs
  --token-file PATH       bearer token for the apiserver
  --supervisor-pid PID    exit (as on SIGTERM: rules, routes and pods stay) once this process is gone
  --netns NAME            the node's namespace (default: the one the agent runs in)
  --overlay NAME          overlay backend (default host-gw; have: ${overlayBackendNames().join(', ')})
  --overlay-engine NAME   the udp backend's engine: batched (default), baseline or batched-no-offload
  --proxy-mode MODE       service proxy: ${proxyModeNames().join(', ')} (default ${DEFAULT_PROXY_MODE})
  --cluster-cidr CIDR     the pod network: traffic to a ClusterIP from outside it is masqueraded
  --cluster-dns IP        pods' nameserver (dnsPolicy ClusterFirst); none: pods use the host's
  --cluster-domain D      the cluster's DNS domain (default cluster.local)
${modeFlagLines()}
  --min-sync-period D     shortest time between proxy syncs (default 1s; e.g. 0s, 250ms)
  --sync-period D         longest time between proxy syncs (default 30s)
  --metrics-bind-address A  proxy /metrics and /healthz in the node's namespace
                          (default ${DEFAULT_METRICS_ADDRESS}; "" for none)
  --heartbeat-seconds N   Node status interval (default 10)
  --cleanup               remove every proxy mode's rules from the node's namespace and exit
                          (kube-proxy --cleanup); pods and routes are left alone
  --log-level LEVEL       debug, info, warn or error (default info)
  -h, --help              this text`;

const USAGE = 'KDP_ERR_USAGE';

/** One usage line per mode flag: `--iptables-backend V  (iptables) help (default nft)`. */
function modeFlagLines(): string {
  return proxyModeFlags()
    .map(({ mode, flag }) => {
      const left = `  --${flag.name} V`.padEnd(25);
      return `${left} (${mode}) ${flag.help}: ${flag.values.join(', ')} (default ${flag.default})`;
    })
    .join('\n');
}

export interface AgentArgs {
  /** Only remove the proxy rules (kube-proxy --cleanup), then exit. */
  cleanup: boolean;
  cluster: string;
  node: string;
  socket: string;
  stateDir: string;
  tokenFile?: string;
  supervisorPid?: number;
  netns?: string;
  overlay: string;
  overlayOptions?: Record<string, string>;
  proxyMode: string;
  /** The mode's own flags, validated, defaults filled in. */
  proxyModeFlags: Record<string, string>;
  clusterCidr?: string;
  clusterDns?: string;
  clusterDomain: string;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  metrics: { host: string; port: number } | null;
  heartbeatSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** The agent's command line, checked; a bad flag is KDP_ERR_USAGE. */
export function parseAgentArgs(argv: string[]): AgentArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string' },
      node: { type: 'string' },
      socket: { type: 'string' },
      'state-dir': { type: 'string' },
      'token-file': { type: 'string' },
      'supervisor-pid': { type: 'string' },
      netns: { type: 'string' },
      overlay: { type: 'string', default: 'host-gw' },
      'overlay-engine': { type: 'string' },
      'proxy-mode': { type: 'string', default: DEFAULT_PROXY_MODE },
      'cluster-cidr': { type: 'string' },
      'cluster-dns': { type: 'string' },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
      ...Object.fromEntries(proxyModeFlags().map(({ flag }) => [flag.name, { type: 'string' as const }])),
      'min-sync-period': { type: 'string', default: '1s' },
      'sync-period': { type: 'string', default: '30s' },
      'metrics-bind-address': { type: 'string', default: DEFAULT_METRICS_ADDRESS },
      'heartbeat-seconds': { type: 'string', default: '10' },
      'log-level': { type: 'string', default: 'info' },
      cleanup: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const required = values.cleanup ? ['cluster'] : ['cluster', 'node', 'socket', 'state-dir'];
  const missing = required.filter((k) => !values[k as keyof typeof values]);
  if (missing.length) throw new KdpError(USAGE, `missing ${missing.map((m) => `--${m}`).join(', ')}`);
  const supervisorPid = values['supervisor-pid'] === undefined ? undefined : Number(values['supervisor-pid']);
  if (supervisorPid !== undefined && !(Number.isInteger(supervisorPid) && supervisorPid > 0))
    throw new KdpError(USAGE, `--supervisor-pid must be a process id`);
  const heartbeatSeconds = Number(values['heartbeat-seconds']);
  if (!(heartbeatSeconds > 0)) throw new KdpError(USAGE, `--heartbeat-seconds must be a positive number`);
  const logLevel = values['log-level']!;
  if (!isLogLevel(logLevel)) throw new KdpError(USAGE, `--log-level must be debug, info, warn or error`);
  if (!overlayBackendNames().includes(values.overlay!)) {
    throw new KdpError(USAGE, `--overlay must be one of ${overlayBackendNames().join(', ')}`);
  }
  const engineProblem = overlayEngineProblem(values.overlay!, values['overlay-engine']);
  if (engineProblem) throw new KdpError(USAGE, `--overlay-engine: ${engineProblem}`);
  const proxyMode = values['proxy-mode'] as string;
  if (!proxyModeNames().includes(proxyMode)) {
    throw new KdpError(USAGE, `--proxy-mode must be one of ${proxyModeNames().join(', ')}`);
  }
  const given = Object.fromEntries(
    proxyModeFlags().map(({ flag }) => [
      flag.name,
      (values as Record<string, unknown>)[flag.name] as string | undefined,
    ]),
  );
  let modeFlags: Record<string, string>;
  try {
    modeFlags = { ...resolveModeFlags(proxyMode, given) };
  } catch (e) {
    throw new KdpError(USAGE, (e as Error).message, { cause: e });
  }
  const clusterCidr = values['cluster-cidr'];
  if (clusterCidr !== undefined && !isNetworkCidr(clusterCidr)) {
    throw new KdpError(USAGE, `--cluster-cidr "${clusterCidr}" is not an IPv4 network such as 10.244.0.0/16`);
  }
  const clusterDns = values['cluster-dns'];
  if (clusterDns !== undefined && !isIP(clusterDns)) {
    throw new KdpError(USAGE, `--cluster-dns "${clusterDns}" is not an IP address such as 10.96.0.10`);
  }
  const clusterDomain = values['cluster-domain']!;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(clusterDomain)) {
    throw new KdpError(
      USAGE,
      `--cluster-domain "${clusterDomain}" is not a DNS domain such as cluster.local`,
    );
  }
  const minSyncPeriodMs = durationMs('--min-sync-period', values['min-sync-period']!);
  const syncPeriodMs = durationMs('--sync-period', values['sync-period']!);
  if (syncPeriodMs <= 0 || syncPeriodMs < minSyncPeriodMs) {
    throw new KdpError(USAGE, `--sync-period must be positive and at least --min-sync-period`);
  }
  const metricsAddress = values['metrics-bind-address']!;
  return {
    cleanup: values.cleanup!,
    cluster: values.cluster!,
    node: values.node ?? '',
    socket: values.socket ?? '',
    stateDir: values['state-dir'] ?? '',
    tokenFile: values['token-file'],
    supervisorPid,
    netns: values.netns,
    overlay: values.overlay!,
    overlayOptions: overlayOptions(values.overlay!, values['overlay-engine']),
    proxyMode,
    proxyModeFlags: modeFlags,
    clusterCidr,
    clusterDns,
    clusterDomain,
    minSyncPeriodMs,
    syncPeriodMs,
    metrics: metricsAddress === '' ? null : parseBindAddress(metricsAddress),
    heartbeatSeconds,
    logLevel,
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration as kube-proxy's flags take it ("1s", "250ms", "1m30s") in milliseconds. */
export function durationMs(flag: string, text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new KdpError(USAGE, `${flag} "${text}" is not a duration such as 1s, 250ms or 1m30s`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]], 0);
}

/** Runs the agent until SIGTERM/SIGINT; resolves with the exit code. */
export async function runAgent(argv: string[]): Promise<number> {
  let args: AgentArgs | 'help';
  try {
    args = parseAgentArgs(argv);
  } catch (e) {
    process.stderr.write(`agent: ${(e as Error).message}\n${agentUsage()}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${agentUsage()}\n`);
    return 0;
  }
  if (args.cleanup) return cleanupOnly(args);
  process.title = `kdp:${args.cluster}:agent:${args.node}`;
  const log = jsonLog(args.logLevel, { component: 'agent', cluster: args.cluster, node: args.node });
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    log('info', `${sig}: stopping (pods keep running)`);
    stop.abort(new KdpError('KDP_ERR_AGENT_STOPPED', `stopped by ${sig}`));
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const unwatch =
    args.supervisorPid === undefined
      ? undefined
      : watchSupervisor(args.supervisorPid, () => onSignal(`supervisor (pid ${args.supervisorPid}) gone`));

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
      overlayOptions: args.overlayOptions,
      clusterCidr: args.clusterCidr,
      dns: { nameserver: args.clusterDns, domain: args.clusterDomain },
      api: { socketPath: args.socket, token },
      proxy: {
        mode: args.proxyMode,
        modeFlags: args.proxyModeFlags,
        clusterCIDR: args.clusterCidr,
        minSyncPeriodMs: args.minSyncPeriodMs,
        syncPeriodMs: args.syncPeriodMs,
        metrics: args.metrics,
      },
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
    unwatch?.();
    await agent?.close();
    client?.close();
  }
}

/** kube-proxy --cleanup: every proxy mode's rules out of the node's namespace; exit 0 or 1. */
async function cleanupOnly(args: AgentArgs): Promise<number> {
  const log = jsonLog(args.logLevel, { component: 'agent', cluster: args.cluster });
  try {
    const prefix = clusterPrefix(args.cluster);
    const netns = args.netns ?? (await findOwnNamespace(createIproute2Kernel({ prefix })));
    const removed = await cleanupProxyModes(netns, { prefix });
    log('info', removed.length ? 'proxy rules removed' : 'no proxy rules to remove', { netns, removed });
    return 0;
  } catch (e) {
    log('error', 'proxy cleanup failed', { error: describeError(e), code: (e as KdpError).code });
    return 1;
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
