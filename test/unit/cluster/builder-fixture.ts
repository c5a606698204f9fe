// Stand-in node agents for builder unit tests: each "agent process" is an in-process loop that
// talks to the cluster's apiserver over its unix socket (as the real agent does), keeps its Node
// Ready and plays kubelet for pods bound to its node: gives them an address from the node's pod
// CIDR and marks them Ready, and finishes their deletion. Killing it stops the loop, as a dying
// process would; tests can make the next spawns fail to see the supervisor back off. Also the
// options that make Cluster.create use them, the FakeKernel and a temp state dir.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import { nthAddress } from '../../../dataplane/kernel/cidr.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';
import type { Node, Pod } from '../../../dataplane/api/types.ts';
import type {
  AgentExit,
  AgentProcess,
  AgentSpawner,
  AgentSpec,
} from '../../../dataplane/cluster/builder-agents.ts';
import { connect } from '../../../dataplane/client/index.ts';
import { createInformer } from '../../../dataplane/client/informer.ts';

export interface FakeAgents {
  spawn: AgentSpawner;
  /** Every spawn so far, in order. */
  spawned: { spec: AgentSpec; proc: AgentProcess }[];
  /** Live agents by node. */
  live: Map<string, AgentProcess>;
  /** Makes the next `n` spawns of `node` die at once (exit code 1). */
  failNext(node: string, n: number): void;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const cond = (type: string) => ({ type, status: 'True' as const, lastTransitionTime: now() });

export function fakeAgents(): FakeAgents {
  const spawned: FakeAgents['spawned'] = [];
  const live = new Map<string, AgentProcess>();
  const failing = new Map<string, number>();
  let nextPid = 100_000;

  const spawn: AgentSpawner = (spec) => {
    let exit!: (e: AgentExit) => void;
    const exited = new Promise<AgentExit>((r) => (exit = r));
    const pid = nextPid++;
    const fails = failing.get(spec.node) ?? 0;
    if (fails > 0) {
      failing.set(spec.node, fails - 1);
      const proc: AgentProcess = { pid, exited, kill: () => {} };
      spawned.push({ spec, proc });
      setImmediate(() => exit({ code: 1, signal: null }));
      return proc;
    }
    const client = connect({ socketPath: spec.socketPath, tokenFile: spec.tokenFile });
    const pods = createInformer<Pod>(client, 'pods', {
      fieldSelector: `spec.nodeName=${spec.node}`,
      log: () => {},
      backoffInitialMs: 10,
    });
    let ips = 1;
    const realise = async (pod: Pod) => {
      const api = client.resource<Pod>('pods');
      if (pod.metadata.deletionTimestamp) {
        await api.delete(pod.metadata.name!, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0 });
        return;
      }
      if (pod.status?.podIP) return;
      const node = await client.resource<Node>('nodes').get(spec.node);
      const ip = nthAddress(node.spec!.podCIDR!, ++ips);
      await api.updateStatus({
        ...pod,
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          conditions: [cond('PodScheduled'), cond('Initialized'), cond('ContainersReady'), cond('Ready')],
        },
      });
    };
    const safely = (pod: Pod) => void realise(pod).catch(() => {});
    pods.addHandlers({ onAdd: safely, onUpdate: (_o, n) => safely(n) });
    pods.start();
    void (async () => {
      const nodes = client.resource<Node>('nodes');
      const node = await nodes.get(spec.node);
      await nodes.updateStatus({ ...node, status: { ...node.status, conditions: [cond('Ready')] } });
    })().catch(() => {});
    const proc: AgentProcess = {
      pid,
      exited,
      kill: (signal) => {
        pods.stop();
        client.close();
        live.delete(spec.node);
        exit({ code: signal === 'SIGTERM' ? 0 : null, signal: signal === 'SIGTERM' ? null : signal });
      },
    };
    live.set(spec.node, proc);
    spawned.push({ spec, proc });
    return proc;
  };
  return { spawn, spawned, live, failNext: (node, n) => failing.set(node, n) };
}

/** A fresh cluster name, its FakeKernel, stand-in agents and the Cluster.create options using them. */
export function builderSetup() {
  const cluster = `u${randomBytes(3).toString('hex')}`;
  const kernel = new FakeKernel({ prefix: clusterPrefix(cluster) });
  const agents = fakeAgents();
  // Short paths: the apiserver's unix socket lives in the state directory.
  const stateDir = join(mkdtempSync(join(tmpdir(), 'kdpb-')), 's');
  const options = {
    kernel,
    spawnAgent: agents.spawn,
    stateDir,
    handleSignals: false,
    log: () => {},
    agentTuning: { initialDelayMs: 5, maxDelayMs: 40, healthyAfterMs: 10_000, stopTimeoutMs: 1000 },
  };
  return { cluster, kernel, agents, stateDir, options };
}
