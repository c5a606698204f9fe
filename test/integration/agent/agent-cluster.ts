// A small real cluster for agent integration tests, made here as the builder will make it: a
// fabric namespace with its bridge and node namespaces with uplink, forwarding and cni0 (one
// kernel plan, kdp-t<random>- prefix), the real ApiServer on a temp dir with its controllers,
// Node objects with pod CIDRs and InternalIPs, and real agent processes started inside the node
// namespaces with nsenter. Teardown stops agents and every process carrying the cluster's title,
// removes the namespaces (withIsolatedKernel checks none is left and the root namespace is
// unchanged) and the temp dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ApiServer } from '../../../dataplane/api/apiserver.ts';
import type { Node, Pod } from '../../../dataplane/api/types.ts';
import { connect } from '../../../dataplane/client/index.ts';
import type { ApiClient } from '../../../dataplane/client/interface.ts';
import { startControllers } from '../../../dataplane/controllers/manager.ts';
import type { NodeAddressPlan } from '../../../dataplane/cluster/topology-addresses.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { podNamespace } from '../../../dataplane/cluster/topology-names.ts';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { exampleLayout } from '../../../dataplane/cluster/testing/example-layout.ts';
import { withIsolatedKernel } from '../kernel/isolated.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

export interface AgentProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

export interface AgentCluster {
  cluster: string;
  kernel: Kernel;
  client: ApiClient;
  nodes: NodeAddressPlan[];
  agents: Map<number, AgentProcess>;
  stateDir(node: number): string;
  startAgent(node: number): AgentProcess;
  podNs(name: string): string;
  /** The pid in a pod's pid file (its first container). */
  podPid(node: number, pod: Pod): Promise<number>;
}

/** Pids whose command line carries the cluster's process titles (kdp:<cluster>:...). */
export async function titledProcesses(cluster: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(`kdp:${cluster}:`)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function killAll(cluster: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = await titledProcesses(cluster);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the namespaces hold, for a failure's diagnostics. */
async function describeKernel(t: TestContext, kernel: Kernel): Promise<void> {
  for (const ns of await kernel.netns.list(kernel.prefix)) {
    const links = (await kernel.links.list(ns)).map(
      (l) => `${l.name}${l.up ? '' : '(down)'}${l.master ? `@${l.master}` : ''}`,
    );
    const addrs = (await kernel.addresses.list(ns)).map((a) => `${a.dev}:${a.cidr}`);
    const routes = (await kernel.routes.list(ns)).map((r) => `${r.dst}${r.via ? ` via ${r.via}` : ''}`);
    t.diagnostic(
      `${ns}: links ${links.join(' ')}; addresses ${addrs.join(' ')}; routes ${routes.join(', ')}`,
    );
  }
}

export async function withAgentCluster(
  t: TestContext,
  nodeCount: number,
  body: (c: AgentCluster) => Promise<void>,
): Promise<void> {
  await withIsolatedKernel(t, async (kernel, cluster) => {
    const dir = await mkdtemp(join(tmpdir(), 'kdp-agent-it-'));
    const layout = exampleLayout(resolveTopology({ cluster, nodes: nodeCount, podsPerNode: 0 }), {
      hostGw: false,
    });
    const agents = new Map<number, AgentProcess>();
    let server: ApiServer | undefined;
    let controllers: Awaited<ReturnType<typeof startControllers>> | undefined;
    let client: ApiClient | undefined;
    try {
      await kernel.ops.apply(layout.plan);
      server = await ApiServer.start({
        stateDir: join(dir, 'api'),
        host: false,
        socketPath: join(dir, 'api.sock'),
      });
      controllers = await startControllers(connect({ dispatcher: server.dispatcher }));
      const tokenFile = server.credentials!.tokenPath;
      client = connect({ socketPath: server.socketPath!, tokenFile });
      for (const n of layout.nodes) {
        const nodes = client.resource<Node>('nodes');
        const created = await nodes.create({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: n.name,
            labels: { 'kubernetes.io/hostname': n.name, 'kdp.dev/cluster': cluster },
          },
          spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
        });
        await nodes.updateStatus({
          ...created,
          status: {
            addresses: [
              { type: 'InternalIP', address: n.underlayIp },
              { type: 'Hostname', address: n.name },
            ],
          },
        });
      }
      const stateDir = (i: number) => join(dir, 'nodes', layout.nodes[i - 1].name);
      const c: AgentCluster = {
        cluster,
        kernel,
        client,
        nodes: layout.nodes,
        agents,
        stateDir,
        startAgent(i) {
          const node = layout.nodes[i - 1];
          const args = ['--cluster', cluster, '--node', node.name, '--socket', server!.socketPath!];
          args.push('--token-file', tokenFile);
          args.push('--state-dir', stateDir(i), '--heartbeat-seconds', '2');
          const child = spawn(
            'nsenter',
            [
              `--net=/run/netns/${node.netns}`,
              '--',
              process.execPath,
              '--import',
              'tsx',
              'dataplane/agent/main.ts',
              ...args,
            ],
            { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let err = '';
          child.stderr!.on('data', (d) => (err += d));
          const proc: AgentProcess = {
            child,
            exited: once(child, 'exit').then(([code]) => code as number | null),
            stderr: () => err,
          };
          agents.set(i, proc);
          return proc;
        },
        podNs: (name) => podNamespace(cluster, 'default', name),
        async podPid(i, pod) {
          const file = join(stateDir(i), 'pods', pod.metadata.uid!, `${pod.spec.containers[0].name}.pid`);
          return Number((await readFile(file, 'utf8')).trim());
        },
      };
      await body(c);
    } catch (e) {
      for (const [i, a] of agents) t.diagnostic(`agent ${i} stderr:\n${a.stderr().slice(-4000)}`);
      await describeKernel(t, kernel).catch((err) => t.diagnostic(`kernel state unreadable: ${String(err)}`));
      throw e;
    } finally {
      for (const a of agents.values())
        if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGTERM');
      await Promise.all([...agents.values()].map((a) => a.exited));
      await killAll(cluster);
      client?.close();
      await controllers?.close();
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
