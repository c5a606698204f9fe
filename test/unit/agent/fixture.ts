// The world a unit-tested agent lives in: the real in-process apiserver stack (store, registry
// with every strategy, dispatcher, in-process client), a FakeKernel with a fabric and node
// namespaces as the builder makes them (uplink with its address, cni0 with the gateway), Node
// objects with pod CIDRs and InternalIPs, a temp state dir, and a fake process runner whose
// processes listen on the ports their arguments name and exit when signalled.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '../../../dataplane/agent/agent.ts';
import type { PortSpec } from '../../../dataplane/agent/workloads/images.ts';
import type {
  ProcessExit,
  ProcessRunner,
  StartOptions,
} from '../../../dataplane/agent/workloads/processes.ts';
import { createAllocators } from '../../../dataplane/api/allocators/index.ts';
import { createDispatcher } from '../../../dataplane/api/http/dispatch.ts';
import { Registry } from '../../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../../dataplane/api/registry/strategies/index.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { Container, Node, Pod } from '../../../dataplane/api/types.ts';
import { connect } from '../../../dataplane/client/index.ts';
import type { ApiClient } from '../../../dataplane/client/interface.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import type { NodeAddressPlan } from '../../../dataplane/cluster/topology-addresses.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import { exampleLayout } from '../../../dataplane/cluster/testing/example-layout.ts';

export const CLUSTER = 'tunit';
export const WORKLOAD_SCRIPT = '/state/workloads/kdp-workload.mjs';
const PID_START = 4242;

export interface FakeProcess {
  pid: number;
  opts: StartOptions;
  alive: boolean;
  signals: string[];
  ports: PortSpec[];
  /** Stays up on SIGTERM (only SIGKILL ends it). */
  ignoreTerm: boolean;
  exit(result: ProcessExit): void;
}

/** Ports a built-in server's arguments ask for (--tcp N, --udp N, --port N). */
function portsOf(argv: string[]): PortSpec[] {
  const out: PortSpec[] = [];
  argv.forEach((a, i) => {
    if (a === '--tcp' || a === '--port') out.push({ protocol: 'TCP', port: Number(argv[i + 1]) });
    if (a === '--udp') out.push({ protocol: 'UDP', port: Number(argv[i + 1]) });
  });
  return out;
}

export class FakeRunner implements ProcessRunner {
  readonly procs = new Map<number, FakeProcess>();
  private nextPid = 1000;
  /** New processes listen on their ports at once (false: tests open them with `listen`). */
  listenAtStart = true;
  ignoreTerm = false;

  async start(opts: StartOptions) {
    const pid = this.nextPid++;
    let resolve!: (r: ProcessExit) => void;
    const exit = new Promise<ProcessExit>((r) => (resolve = r));
    const proc: FakeProcess = {
      pid,
      opts,
      alive: true,
      signals: [],
      ports: this.listenAtStart ? portsOf(opts.argv) : [],
      ignoreTerm: this.ignoreTerm,
      exit: (result) => {
        proc.alive = false;
        resolve(result);
      },
    };
    this.procs.set(pid, proc);
    return { pid, pidStart: PID_START, exit };
  }

  async alive(pid: number, pidStart: number) {
    return pidStart === PID_START && this.procs.get(pid)?.alive === true;
  }

  async openPorts(pid: number) {
    return this.procs.get(pid)?.ports ?? [];
  }

  async signal(pid: number, pidStart: number, sig: NodeJS.Signals) {
    const p = this.procs.get(pid);
    if (!p || !(await this.alive(pid, pidStart))) return false;
    p.signals.push(sig);
    if (sig === 'SIGKILL') p.exit({ code: null, signal: 'SIGKILL' });
    else if (!p.ignoreTerm) p.exit({ code: 0, signal: null });
    return true;
  }

  listen(pid: number) {
    const p = this.procs.get(pid)!;
    p.ports = portsOf(p.opts.argv);
  }

  /** Processes started in a namespace, oldest first. */
  in(netns: string): FakeProcess[] {
    return [...this.procs.values()].filter((p) => p.opts.nsPath === `/run/netns/${netns}`);
  }
}

export interface AgentWorld {
  client: ApiClient;
  kernel: FakeKernel;
  runner: FakeRunner;
  nodes: NodeAddressPlan[];
  stateDir(node: number): string;
  /** Starts the agent of node `i` (1-based). */
  startAgent(i: number, over?: Partial<AgentOptions>): Promise<Agent>;
  close(): Promise<void>;
}

export async function agentWorld(
  opts: { nodes?: number; nodeCidrMaskSize?: number } = {},
): Promise<AgentWorld> {
  const topology = resolveTopology({
    cluster: CLUSTER,
    nodes: opts.nodes ?? 2,
    podsPerNode: 0,
    nodeCidrMaskSize: opts.nodeCidrMaskSize ?? 24,
  });
  const layout = exampleLayout(topology, { hostGw: false });
  const kernel = new FakeKernel({ prefix: clusterPrefix(CLUSTER) });
  await kernel.ops.apply(layout.plan);
  const store = new Store();
  const registry = new Registry(
    store,
    createStrategies(),
    createAllocators({ serviceCIDR: '10.96.0.0/16', nodePortRange: { first: 30000, last: 32767 } }),
  );
  const client = connect({ dispatcher: createDispatcher(registry) });
  await client
    .resource('namespaces')
    .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  for (const n of layout.nodes) await createNode(client, n);
  const root = await mkdtemp(join(tmpdir(), 'kdp-agent-'));
  const runner = new FakeRunner();
  const agents: Agent[] = [];
  const stateDir = (i: number) => join(root, `node-${i}`);
  return {
    client,
    kernel,
    runner,
    nodes: layout.nodes,
    stateDir,
    async startAgent(i, over = {}) {
      const node = layout.nodes[i - 1];
      const agent = await Agent.start({
        client,
        kernel,
        cluster: CLUSTER,
        nodeName: node.name,
        netns: node.netns,
        stateDir: stateDir(i),
        runner,
        workloadScript: WORKLOAD_SCRIPT,
        nodeBinary: '/usr/bin/node',
        heartbeatMs: 60_000,
        informers: { backoffInitialMs: 5, backoffMaxMs: 50 },
        kubelet: { livenessMs: 20, backoffMs: 10, quietMs: 10 },
        ...over,
      });
      agents.push(agent);
      return agent;
    },
    async close() {
      await Promise.all(agents.map((a) => a.close()));
      client.close();
      store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export async function createNode(
  client: ApiClient,
  n: Pick<NodeAddressPlan, 'name' | 'podCidr' | 'underlayIp'>,
) {
  const nodes = client.resource<Node>('nodes');
  const node = await nodes.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kdp.dev/cluster': CLUSTER } },
    spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
  });
  return nodes.updateStatus({
    ...node,
    status: {
      addresses: [
        { type: 'InternalIP', address: n.underlayIp },
        { type: 'Hostname', address: n.name },
      ],
    },
  });
}

export function podObject(
  name: string,
  node: string,
  containers: Partial<Container>[] = [{ image: 'kdp/http' }],
  extra: Partial<Pod['spec']> = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'test' } },
    spec: {
      nodeName: node,
      containers: containers.map((c, i) => ({ name: `c${i}`, ...c })) as Container[],
      ...extra,
    },
  };
}

export function isReady(pod: Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** What a truthy check leaves of T. */
