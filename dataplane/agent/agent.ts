/**
 * The node agent, assembled: informers on the node's Pods (fieldSelector spec.nodeName) and on all
 * Nodes, the node heartbeat, the overlay backend fed with the Nodes' leases (once started, the
 * agent publishes its own lease on its Node, gives pods and cni0 the backend's MTU and writes
 * subnet.env, as flanneld does), the service proxy of the node's proxy mode (service-proxy.ts) and the kubelet that realises the node's Pods. It
 * starts once the apiserver's lists are in and its own Node has a pod CIDR and an address (the
 * builder creates the Node and configures the node namespace before starting the agent), and it
 * stops without touching pods, routes, proxy rules or processes: a restarted agent adopts them. main.ts is the process around it; tests start it in-process with a FakeKernel.
 */
import type { Node, Pod } from '../api/types.ts';
import { InformerFactory } from '../client/informer-factory.ts';
import type { InformerTuning } from '../client/informer.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { CNI_BRIDGE, NODE_UPLINK } from '../cluster/topology-names.ts';
import { TOPOLOGY_DEFAULTS } from '../cluster/topology.ts';
import { KdpError } from '../errors.ts';
import { nthAddress, parseIpv4Cidr } from '../kernel/cidr.ts';
import type { Kernel } from '../kernel/interfaces.ts';
import type { LinkInfo } from '../kernel/types.ts';
import type { OverlayNode } from '../overlay/backend.ts';
import { createOverlayBackend } from '../overlay/backends/registry.ts';
import { overlayMetricsRegistry } from '../overlay/metrics.ts';
import { writeSubnetEnv } from '../overlay/subnet-env.ts';
import { HostLocalIpam } from './ipam.ts';
import { Kubelet, type KubeletOptions } from './kubelet.ts';
import { silentLog, type Log } from '../log.ts';
import { NodeHeartbeat } from './node-heartbeat.ts';
import { OverlaySync, overlayNodeOf, publishLease } from './overlay-sync.ts';
import type { NodeNetwork } from './sandboxes.ts';
import { ServiceProxy, type ServiceProxySettings } from './service-proxy.ts';
import { AgentState } from './state.ts';
import { bundleWorkloads } from './workloads/bundle.ts';
import { HostProcessRunner, type ProcessRunner } from './workloads/processes.ts';

export interface AgentOptions {
  client: ApiClient;
  kernel: Kernel;
  cluster: string;
  /** The Node object's name. */
  nodeName: string;
  /** The node's network namespace. */
  netns: string;
  stateDir: string;
  log?: Log;
  /** Overlay backend by name (overlay/backend.ts); default host-gw. */
  overlay?: string;
  /** The backend's options (overlay/options.ts), e.g. { engine: 'baseline' } for udp. */
  overlayOptions?: Readonly<Record<string, string>>;
  /** The cluster's pod network (flannel's Network); default the topology's default, 10.244.0.0/16. */
  clusterCidr?: string;
  /** The node's service proxy (mode, cluster CIDR, metrics address); none when absent. */
  proxy?: ServiceProxySettings;
  /** Default eth0 and cni0 (topology-names.ts). */
  uplink?: string;
  bridge?: string;
  heartbeatMs?: number;
  /** Default: real processes via nsenter. */
  runner?: ProcessRunner;
  /** The bundled built-in servers; default: bundled into the state dir at start. */
  workloadScript?: string;
  /** Default: the node running the agent. */
  nodeBinary?: string;
  informers?: InformerTuning;
  kubelet?: Pick<KubeletOptions, 'quietMs' | 'maxWaitMs' | 'livenessMs' | 'backoffMs'>;
  /** Cluster DNS address and domain for pods' resolv.conf (kubelet --cluster-dns, --cluster-domain). */
  dns?: KubeletOptions['dns'];
  /** The apiserver's socket and token, handed to kdp/dns pods through a read-only relay. */
  api?: KubeletOptions['api'];
  signal?: AbortSignal;
}

export class Agent {
  private closing?: Promise<void>;

  private constructor(
    private readonly informers: InformerFactory,
    private readonly heartbeat: NodeHeartbeat,
    private readonly overlay: OverlaySync,
    readonly kubelet: Kubelet,
    /** The node's kube-proxy; undefined in proxy mode none. */
    readonly proxy: ServiceProxy | undefined,
    private readonly log: Log,
  ) {}

  static async start(o: AgentOptions): Promise<Agent> {
    const log = o.log ?? silentLog;
    const state = new AgentState(o.stateDir);
    await state.init();
    const ipam = await HostLocalIpam.load(state.ipamFile);
    const workloadScript = o.workloadScript ?? (await bundleWorkloads(state.workloadsDir));
    const informers = new InformerFactory(o.client, { log, ...o.informers });
    const pods = informers.informer<Pod>('pods', { fieldSelector: `spec.nodeName=${o.nodeName}` });
    const nodes = informers.informer<Node>('nodes');
    informers.start();
    let heartbeat: NodeHeartbeat | undefined;
    let overlay: OverlaySync | undefined;
    let proxy: ServiceProxy | undefined;
    try {
      await informers.waitForSync(o.signal);
      const local = await waitForLease(nodes, o.nodeName, log, o.signal);
      const uplink = o.uplink ?? NODE_UPLINK;
      const links = await o.kernel.links.list(o.netns);
      const net = await nodeNetwork(o.kernel, o.netns, o.bridge ?? CNI_BRIDGE, links, local, log);
      for (const d of ipam.setRange(local.podCidr)) {
        log(
          'warn',
          `address ${d.ip} is outside the node's pod CIDR ${local.podCidr} now; its pod gets a new one`,
        );
      }
      let networkReady = false;
      heartbeat = new NodeHeartbeat({
        client: o.client,
        nodes,
        nodeName: o.nodeName,
        log,
        intervalMs: o.heartbeatMs,
        networkReady: () => networkReady,
      });
      heartbeat.start();
      const clusterCidr = o.clusterCidr ?? TOPOLOGY_DEFAULTS.podCidr;
      const backend = createOverlayBackend(o.overlay ?? 'host-gw', {
        kernel: o.kernel,
        netns: o.netns,
        uplink,
        clusterCidr,
        options: o.overlayOptions,
        log,
      });
      overlay = new OverlaySync(backend, nodes, o.nodeName, log);
      const started = await overlay.start(local);
      // Without its lease peers cannot reach this node: a failure here fails the start, and the
      // supervisor's restart tries again.
      await publishLease(o.client, nodes, o.nodeName, {
        underlayIp: local.underlayIp,
        backend: backend.name,
        backendData: started.backendData,
        underlayMac: links.find((l) => l.name === uplink)?.address,
      });
      // Pods get the backend's MTU (flannel's FLANNEL_MTU), and so does the bridge they hang off.
      if (net.mtu !== started.podMtu) await o.kernel.links.setMtu(o.netns, net.bridge, started.podMtu);
      net.mtu = started.podMtu;
      await writeSubnetEnv(state.subnetEnvFile, { clusterCidr, podCidr: local.podCidr, mtu: started.podMtu });
      networkReady = true;
      void heartbeat.beat();
      if (o.proxy) {
        const overlayMetrics = overlayMetricsRegistry(backend);
        proxy = await ServiceProxy.start({
          ...o.proxy,
          extraMetrics: overlayMetrics && (() => overlayMetrics.metrics()),
          informers,
          cluster: o.cluster,
          nodeName: o.nodeName,
          netns: o.netns,
          log,
          signal: o.signal,
        });
      }
      const kubelet = new Kubelet({
        client: o.client,
        kernel: o.kernel,
        state,
        ipam,
        runner: o.runner ?? new HostProcessRunner(),
        pods,
        cluster: o.cluster,
        nodeName: o.nodeName,
        network: net,
        hostIP: () => {
          const node = nodes.get(o.nodeName);
          return (node && overlayNodeOf(node)?.underlayIp) ?? local.underlayIp;
        },
        workloadScript,
        nodeBinary: o.nodeBinary ?? process.execPath,
        log,
        dns: o.dns,
        api: o.api,
        ...o.kubelet,
      });
      await kubelet.start();
      watchOwnLease(nodes, local, log);
      log('info', 'agent running', { podCidr: local.podCidr, underlayIp: local.underlayIp, netns: o.netns });
      return new Agent(informers, heartbeat, overlay, kubelet, proxy, log);
    } catch (e) {
      await proxy?.close(log);
      await overlay?.close();
      await heartbeat?.close();
      informers.stop();
      throw e;
    }
  }

  /** Stops the agent's loops and watches; pods, processes, routes and proxy rules stay. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.proxy?.close(this.log);
      await this.kubelet.close();
      await this.overlay.close();
      await this.heartbeat.close();
      this.informers.stop();
    })();
    return this.closing;
  }
}

/** Resolves with the node's lease once its Node has a pod CIDR and an InternalIP. */
function waitForLease(
  nodes: Informer<Node>,
  name: string,
  log: Log,
  signal?: AbortSignal,
): Promise<OverlayNode> {
  const now = nodes.get(name);
  const lease = now && overlayNodeOf(now);
  if (lease) return Promise.resolve(lease);
  log('info', `waiting for Node ${name} to have a pod CIDR and an InternalIP`);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const check = (n: Node) => {
      const l = n.metadata.name === name ? overlayNodeOf(n) : undefined;
      if (!l) return;
      signal?.removeEventListener('abort', onAbort);
      resolve(l);
    };
    nodes.addHandlers({ onAdd: check, onUpdate: (_o, n) => check(n) });
  });
}

/** Pods keep the address plan they were given: a pod CIDR that changes under them is only reported. */
function watchOwnLease(nodes: Informer<Node>, local: OverlayNode, log: Log): void {
  nodes.addHandlers({
    onUpdate: (_o, n) => {
      const l = n.metadata.name === local.name ? overlayNodeOf(n) : undefined;
      if (l && l.podCidr !== local.podCidr) {
        log(
          'error',
          `Node ${local.name} changed its pod CIDR from ${local.podCidr} to ${l.podCidr}; restart the node to use it`,
        );
      }
    },
  });
}

/**
 * The node side pods attach to: cni0 (which the builder made), its MAC, its MTU and the pod
 * CIDR's gateway. cni0's MAC is set to itself: a bridge whose MAC was never set takes its lowest
 * port's and changes as pods come and go, which would leave every pod's permanent entry for its
 * gateway pointing at a MAC that is gone. The builder sets one; this makes sure of it.
 */
async function nodeNetwork(
  kernel: Kernel,
  netns: string,
  bridge: string,
  links: readonly LinkInfo[],
  local: OverlayNode,
  log: Log,
): Promise<NodeNetwork> {
  const link = links.find((l) => l.name === bridge);
  if (!link?.address) {
    const what = link ? `a ${bridge} without a MAC address` : `no ${bridge} bridge`;
    throw new KdpError(
      'KDP_ERR_AGENT_NODE_NETWORK',
      `namespace ${netns} has ${what}: the node must be configured (uplink, ${bridge}, forwarding) before its agent starts`,
    );
  }
  await kernel.links.set(netns, bridge, { address: link.address });
  const gateway = nthAddress(local.podCidr, 1);
  const prefixLength = parseIpv4Cidr(local.podCidr)!.prefix;
  const addresses = await kernel.addresses.list(netns, bridge);
  if (!addresses.some((a) => a.cidr === `${gateway}/${prefixLength}`)) {
    log(
      'warn',
      `${bridge} in ${netns} does not have ${gateway}/${prefixLength}; pods' default route needs it`,
    );
  }
  return { netns, bridge, bridgeMac: link.address, mtu: link.mtu, gateway, prefixLength };
}
