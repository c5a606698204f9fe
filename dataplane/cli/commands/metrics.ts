/**
 * `kdp metrics <node>`: what the node's service proxy serves on 127.0.0.1:10249 inside the node's
 * namespace (as kube-proxy's metrics port): /metrics by default, or /healthz or /proxyMode. The
 * address is reachable only from inside that namespace, so the request is made by a short node
 * process entered into it; the body goes to stdout as is, for grep or a Prometheus parser.
 * Exit 1 when nothing answers or the answer is not 200 (an unhealthy /healthz is 503).
 */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { readJson, type ClusterRecord } from '../../cluster/builder-state.ts';
import { NO_SUCH_NODE } from '../../cluster/builder-nodes.ts';
import { KdpError } from '../../errors.ts';
import { netnsPath } from '../../kernel/name-checks.ts';
import { DEFAULT_METRICS_ADDRESS, parseBindAddress } from '../../proxy/metrics-server.ts';
import { clusterName, requireRoot, runningClusterPaths, withNameOption } from '../cluster-access.ts';
import { usageError } from '../usage.ts';

const PATHS = ['/metrics', '/healthz', '/proxyMode'];

// Runs inside the node's namespace: one GET, the body to stdout, the status as the exit code's cause.
const GET = `
const [host, port, path] = process.argv.slice(1);
const req = require('node:http').get({ host, port: Number(port), path, timeout: 5000, agent: false }, (res) => {
  res.pipe(process.stdout);
  res.on('end', () => { if (res.statusCode !== 200) { console.error('HTTP ' + res.statusCode); process.exitCode = 3; } });
});
req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
req.on('error', (e) => { console.error(e.code === 'ECONNREFUSED' ? 'refused' : e.message); process.exitCode = 4; });
`;

export function metricsCommand(): Command {
  return withNameOption(
    new Command('metrics').description(
      "print a node's service proxy metrics (kube-proxy's names), served in the node's namespace",
    ),
  )
    .argument('<node>', 'Node name, e.g. node-1')
    .option('--path <path>', `${PATHS.join(', ')}`, '/metrics')
    .option('--address <host:port>', 'where the proxy serves them', DEFAULT_METRICS_ADDRESS)
    .addHelpText(
      'after',
      '\nExamples:\n  kdp metrics node-1 | grep kubeproxy_sync_proxy_rules_duration\n' +
        '  kdp metrics node-2 --path /healthz',
    )
    .action(async (node: string, flags: { name?: string; path: string; address: string }) => {
      if (!PATHS.includes(flags.path)) throw usageError(`--path must be one of ${PATHS.join(', ')}`);
      let address: { host: string; port: number };
      try {
        address = parseBindAddress(flags.address);
      } catch (e) {
        throw usageError(`--address: ${(e as Error).message}`);
      }
      const cluster = clusterName(flags);
      requireRoot('kdp metrics');
      const record = readJson<ClusterRecord>(runningClusterPaths(cluster).record);
      const found = record?.nodes.find((n) => n.name === node);
      if (!found) {
        const have = record?.nodes.map((n) => n.name).join(', ') || 'none';
        throw new KdpError(NO_SUCH_NODE, `no node "${node}" in cluster "${cluster}" (nodes: ${have})`);
      }
      const { code, stderr } = await fetchInNamespace(found.netns, address, flags.path);
      if (code === 0) return;
      const where = `${address.host}:${address.port}${flags.path} in node ${node}'s namespace`;
      const why =
        stderr.trim() === 'refused'
          ? `nothing listens on ${address.host}:${address.port} in node ${node}'s namespace: its proxy mode is none, or its agent is down (kdp status)`
          : `${where}: ${stderr.trim() || `exit ${code}`}`;
      throw new KdpError('KDP_ERR_PROXY_METRICS', why);
    });
}

function fetchInNamespace(
  netns: string,
  address: { host: string; port: number },
  path: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'nsenter',
      [
        `--net=${netnsPath(netns)}`,
        '--',
        process.execPath,
        '-e',
        GET,
        address.host,
        String(address.port),
        path,
      ],
      { stdio: ['ignore', 'inherit', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
