/**
 * `kdp up`: brings a cluster up in a detached supervisor and returns once every pod is Ready,
 * with progress while it works and, at the end, how to use the cluster. Topology from flags,
 * optionally over a YAML file (--topology); a bad value is a usage error naming its flag.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { launchSupervisor, UP_FAILED } from '../../cluster/supervisor-launch.ts';
import { parseTopologyYaml, topologyInputFromOptions } from '../../cluster/topology-parse.ts';
import {
  resolveTopology,
  TOPOLOGY_INVALID,
  type TopologyInput,
  type TopologyProblem,
} from '../../cluster/topology.ts';
import { isKdpError, KdpError } from '../../errors.ts';
import { checkProxyMode, DEFAULT_PROXY_MODE, proxyModeFlags, proxyModes } from '../../proxy/modes.ts';
import { DEFAULT_CLUSTER, requireRoot } from '../cluster-access.ts';
import { createProgress } from '../progress.ts';
import { usageError } from '../usage.ts';

interface Flags {
  name?: string;
  nodes?: string;
  podsPerNode?: string;
  topology?: string;
  proxyMode?: string;
  overlay?: string;
  overlayEngine?: string;
  denyServiceExternalIps?: boolean;
  dns?: boolean;
  json?: boolean;
  /** The proxy modes' own flags, camelCased by commander (`iptablesBackend`). */
  [modeFlag: string]: string | boolean | undefined;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The proxy modes' flags that were given, by flag name (`{ 'iptables-backend': 'legacy' }`). */
function givenModeFlags(flags: Flags): Record<string, string> | undefined {
  const given: [string, string][] = [];
  for (const { flag } of proxyModeFlags()) {
    const v = flags[camel(flag.name)];
    if (typeof v === 'string') given.push([flag.name, v]);
  }
  return given.length ? Object.fromEntries(given) : undefined;
}

/** `--dns=false`, `--dns false`, `--dns=true`. */
function parseOnOff(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw usageError(`--dns must be true or false, got "${value}"`);
}

const FLAG_OF: Record<string, string> = {
  cluster: '--name',
  nodes: '--nodes',
  podsPerNode: '--pods-per-node',
  proxyMode: '--proxy-mode',
  overlay: '--overlay',
  overlayEngine: '--overlay-engine',
};

/** The topology the flags describe; problems become a usage error that names the flag. */
export function topologyFromFlags(flags: Flags): TopologyInput {
  let fromFile: TopologyInput = {};
  if (flags.topology) {
    let text: string;
    try {
      text = flags.topology === '-' ? readFileSync(0, 'utf8') : readFileSync(flags.topology, 'utf8');
    } catch (e) {
      throw usageError(`--topology "${flags.topology}": ${(e as Error).message}`);
    }
    fromFile = parseTopologyYaml(text);
  }
  const modeFlags = givenModeFlags(flags);
  const input: TopologyInput = {
    ...fromFile,
    ...topologyInputFromOptions({
      cluster: flags.name,
      nodes: flags.nodes,
      podsPerNode: flags.podsPerNode,
      proxyMode: flags.proxyMode,
      overlay: flags.overlay,
    }),
    ...(flags.overlayEngine !== undefined ? { overlayEngine: flags.overlayEngine } : {}),
    ...(modeFlags ? { proxyModeFlags: modeFlags } : {}),
    ...(flags.denyServiceExternalIps ? { denyServiceExternalIPs: true } : {}),
    ...(flags.dns !== undefined ? { dns: flags.dns } : {}),
  };
  try {
    resolveTopology(input);
  } catch (e) {
    if (!isKdpError(e, TOPOLOGY_INVALID)) throw e;
    const problems = (e.details?.problems ?? []) as TopologyProblem[];
    const where = (field: string) =>
      field === 'proxyModeFlags' && modeFlags
        ? Object.keys(modeFlags)
            .map((f) => `--${f}`)
            .join(', ')
        : FLAG_OF[field] &&
            (flags as Record<string, unknown>)[field === 'cluster' ? 'name' : field] !== undefined
          ? FLAG_OF[field]
          : flags.topology
            ? `${flags.topology}: ${field}`
            : (FLAG_OF[field] ?? field);
    throw usageError(problems.map((p) => `${where(p.field)}: ${p.message}`).join('; ') || e.message);
  }
  return input;
}

export function upCommand(): Command {
  const cmd = new Command('up')
    .description('bring up an emulated cluster (nodes and pods as network namespaces) and leave it running')
    .option('--name <cluster>', `cluster name (default "${DEFAULT_CLUSTER}")`)
    .option('--nodes <n>', 'number of nodes (default 2)')
    .option('--pods-per-node <n>', 'kdp/http pods on each node (default 2)')
    .option('--topology <file>', 'topology YAML (fields of TopologyInput); flags override it; - reads stdin')
    .option(
      '--proxy-mode <mode>',
      `service proxy on every node (default ${DEFAULT_PROXY_MODE}): ${proxyModes()
        .map((m) => `${m.name} (${m.summary})`)
        .join('; ')}`,
    )
    .option('--overlay <backend>', 'overlay backend: host-gw (default), vxlan, udp, udp-ts')
    .option(
      '--overlay-engine <engine>',
      "the udp backend's engine: batched (default), baseline or batched-no-offload",
    )
    .option(
      '--deny-service-external-ips',
      'the apiserver refuses every Service externalIP (upstream DenyServiceExternalIPs)',
    )
    .option(
      '--dns <bool>',
      "cluster DNS: the kube-dns Service at the service range's tenth address and its pods (default true)",
      parseOnOff,
    )
    .option('--json', 'print the result as JSON (no progress)');
  for (const { mode, flag } of proxyModeFlags()) {
    cmd.option(
      `--${flag.name} <value>`,
      `proxy mode ${mode}: ${flag.help}; ${flag.values.join(', ')} (default ${flag.default})`,
    );
  }
  return cmd
    .addHelpText(
      'after',
      '\nExamples:\n  kdp up\n  kdp up --name lab --nodes 3 --pods-per-node 10\n' +
        '  kdp up --proxy-mode none          (Services without a proxy)\n' +
        '  kdp up --overlay vxlan            (flannel.1 devices, VNI 1, port 8472)\n' +
        '  kubectl --kubeconfig "$(kdp kubeconfig)" get pods -o wide\n  kdp metrics node-1\n  kdp down',
    )
    .action(async (flags: Flags) => {
      const input = topologyFromFlags(flags);
      requireRoot('kdp up');
      const topology = resolveTopology(input);
      const cluster = topology.cluster;
      // Before the supervisor starts: a mode this host cannot run is refused at once.
      const { warnings } = checkProxyMode(topology.proxyMode, { flags: topology.proxyModeFlags });
      for (const w of warnings) console.error(`warning: ${w}`);
      const progress = createProgress({ quiet: flags.json });
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        progress.update(`starting cluster "${cluster}"`);
        const r = await launchSupervisor(input, {
          signal: abort.signal,
          onProgress: (p) => p.phase !== 'ready' && progress.update(p.message, p.phase),
        });
        if (flags.json) {
          console.log(JSON.stringify(r));
          return;
        }
        progress.done(`cluster "${cluster}" is ready: ${r.nodes} nodes, ${r.pods} pods`);
        const name = cluster === DEFAULT_CLUSTER ? '' : ` --name ${cluster}`;
        const hints: [string, string][] = [
          [`kubectl --kubeconfig "$(kdp kubeconfig${name})" get pods -o wide`, ''],
          [`kdp status${name}`, 'nodes, pods and agents'],
          [`kdp exec${name} pod-1-1 -- ip -br addr`, "a command in a pod's network namespace"],
          ...(topology.proxyMode === 'none'
            ? []
            : ([[`kdp metrics${name} node-1`, `node-1's ${topology.proxyMode} proxy metrics`]] as [
                string,
                string,
              ][])),
          [`kdp down${name}`, `stop it (after a crash: kdp cleanup${name})`],
        ];
        const width = Math.max(...hints.map(([c]) => c.length));
        console.log(
          [
            `kubeconfig: ${r.kubeconfig}`,
            ...hints.map(([c, what]) => `  ${c.padEnd(width)}   ${what}`.trimEnd()),
          ].join('\n'),
        );
      } catch (e) {
        progress.stop();
        if (isKdpError(e, UP_FAILED)) {
          const log = (e.details?.log ?? []) as string[];
          if (log.length) console.error(`last lines of the supervisor log:\n  ${log.join('\n  ')}`);
          throw new KdpError(UP_FAILED, e.message);
        }
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
