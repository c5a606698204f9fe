/**
 * `kdp status`: a running cluster at a glance, from its apiserver and its supervisor: the nodes
 * (Ready, addresses, pod CIDR, overlay backend, agent process and restarts, last heartbeat), the pods (phase,
 * Ready, IP, node) and where the kubeconfig is. Exit 1 when the cluster is not running.
 */
import { Command } from 'commander';
import type { Node, Pod } from '../../api/types.ts';
import type { AgentStatus } from '../../cluster/builder-agents.ts';
import { isNodeReady, isPodReady } from '../../cluster/builder-objects.ts';
import { readJson } from '../../cluster/builder-state.ts';
import { socketAnswers } from '../../cluster/builder.ts';
import { NOT_RUNNING, runningSupervisor } from '../../cluster/supervisor-launch.ts';
import { KdpError } from '../../errors.ts';
import { LEASE_ANNOTATIONS } from '../../overlay/leases.ts';
import type { SupervisorStatus } from '../../cluster/supervisor.ts';
import { clusterClient, clusterName, runningClusterPaths, withNameOption } from '../cluster-access.ts';
import { formatTable } from '../table.ts';

export interface NodeView {
  name: string;
  ready: boolean;
  internalIP?: string;
  podCIDR?: string;
  /** The overlay backend its agent published (flannel's backend-type annotation). */
  overlay?: string;
  /** Seconds since the agent's last heartbeat on the Ready condition. */
  heartbeatAgeSeconds?: number;
  agent?: AgentStatus;
  pods: number;
}

export interface PodView {
  namespace: string;
  name: string;
  node?: string;
  ip?: string;
  phase?: string;
  ready: boolean;
  terminating: boolean;
}

export interface StatusView {
  cluster: string;
  supervisor?: { pid: number; state?: string; startedAt?: string };
  kubeconfig: string;
  nodes: NodeView[];
  pods: PodView[];
  summary: { nodes: number; nodesReady: number; pods: number; podsReady: number };
}

export async function clusterStatus(cluster: string): Promise<StatusView> {
  const paths = runningClusterPaths(cluster);
  const pid = runningSupervisor(cluster);
  if (pid === undefined && !(await socketAnswers(paths.socket))) {
    throw new KdpError(
      NOT_RUNNING,
      `cluster "${cluster}" is not running: its supervisor is gone and its apiserver does not answer; ` +
        `\`kdp cleanup --name ${cluster}\` removes what is left`,
    );
  }
  const sup = readJson<SupervisorStatus>(paths.supervisorStatus);
  const client = clusterClient(cluster);
  try {
    const [nodes, pods] = await Promise.all([
      client.resource<Node>('nodes').listAll(),
      client.resource<Pod>('pods').listAll(),
    ]);
    const podViews: PodView[] = pods.items.map((p) => ({
      namespace: p.metadata.namespace!,
      name: p.metadata.name!,
      node: p.spec.nodeName,
      ip: p.status?.podIP,
      phase: p.status?.phase,
      ready: isPodReady(p),
      terminating: !!p.metadata.deletionTimestamp,
    }));
    const nodeViews: NodeView[] = nodes.items.map((n) => {
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      const beat = Date.parse(ready?.lastHeartbeatTime ?? '');
      return {
        name: n.metadata.name!,
        ready: isNodeReady(n),
        internalIP: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
        podCIDR: n.spec?.podCIDR,
        overlay: n.metadata.annotations?.[LEASE_ANNOTATIONS.backendType],
        heartbeatAgeSeconds: Number.isNaN(beat)
          ? undefined
          : Math.max(0, Math.round((Date.now() - beat) / 1000)),
        agent: sup?.agents.find((a) => a.node === n.metadata.name),
        pods: podViews.filter((p) => p.node === n.metadata.name).length,
      };
    });
    return {
      cluster,
      supervisor: pid === undefined ? undefined : { pid, state: sup?.state, startedAt: sup?.startedAt },
      kubeconfig: paths.kubeconfig,
      nodes: nodeViews,
      pods: podViews,
      summary: {
        nodes: nodeViews.length,
        nodesReady: nodeViews.filter((n) => n.ready).length,
        pods: podViews.length,
        podsReady: podViews.filter((p) => p.ready).length,
      },
    };
  } finally {
    client.close();
  }
}

function agentText(a?: AgentStatus): string {
  if (!a) return '-';
  const restarts = a.restarts ? `, ${a.restarts} restarts` : '';
  return a.state === 'running' ? `running (pid ${a.pid}${restarts})` : `${a.state}${restarts}`;
}

const MAX_PODS_SHOWN = 50;

export function statusText(s: StatusView): string {
  const sup = s.supervisor
    ? `running (supervisor pid ${s.supervisor.pid}${s.supervisor.state && s.supervisor.state !== 'running' ? `, ${s.supervisor.state}` : ''})`
    : 'apiserver socket present but no supervisor (started in-process by a scenario?)';
  const lines = [`cluster ${s.cluster}: ${sup}`, `kubeconfig: ${s.kubeconfig}`, ''];
  lines.push(
    formatTable(
      ['NODE', 'STATUS', 'INTERNAL-IP', 'POD-CIDR', 'OVERLAY', 'HEARTBEAT', 'AGENT', 'PODS'],
      s.nodes.map((n) => [
        n.name,
        n.ready ? 'Ready' : 'NotReady',
        n.internalIP ?? '-',
        n.podCIDR ?? '-',
        n.overlay ?? '-',
        n.heartbeatAgeSeconds === undefined ? '-' : `${n.heartbeatAgeSeconds}s ago`,
        agentText(n.agent),
        String(n.pods),
      ]),
    ),
    '',
    `pods: ${s.summary.podsReady}/${s.summary.pods} Ready`,
  );
  if (s.pods.length <= MAX_PODS_SHOWN) {
    lines.push(
      formatTable(
        ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'IP', 'NODE'],
        s.pods.map((p) => [
          p.namespace,
          p.name,
          p.ready ? '1/1' : '0/1',
          p.terminating ? 'Terminating' : (p.phase ?? 'Pending'),
          p.ip ?? '-',
          p.node ?? '-',
        ]),
      ),
    );
  } else {
    const name = s.cluster === 'default' ? '' : ` --name ${s.cluster}`;
    lines.push(`(${s.pods.length} pods: kubectl --kubeconfig "$(kdp kubeconfig${name})" get pods -o wide)`);
  }
  return lines.join('\n');
}

export function statusCommand(): Command {
  return withNameOption(new Command('status').description("a running cluster's nodes, agents and pods"))
    .option('--json', 'print JSON')
    .action(async (flags: { name?: string; json?: boolean }) => {
      const s = await clusterStatus(clusterName(flags));
      console.log(flags.json ? JSON.stringify(s) : statusText(s));
    });
}
