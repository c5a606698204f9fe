/**
 * Starts kdp's controllers together over one client, as kube-controller-manager (plus a scheduler
 * and, optionally, a simulated kubelet) does for a real cluster. They share one InformerFactory,
 * so each resource is listed and watched once however many controllers read it. Every controller
 * can be switched off; `close()` stops them all and the informers.
 */
import { InformerFactory } from '../client/informer-factory.ts';
import type { InformerTuning } from '../client/informer.ts';
import type { ApiClient } from '../client/interface.ts';
import { type Controller, type ControllerOptions, stderrLogger } from './controller.ts';
import type { Log } from '../log.ts';
import { DeploymentController } from './deployment.ts';
import { EndpointsController } from './endpoints.ts';
import { EndpointSliceController } from './endpointslice.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { NamespaceController } from './namespace.ts';
import { NodeIpamController } from './node-ipam.ts';
import { ReplicaSetController } from './replicaset.ts';
import { SchedulerController } from './scheduler.ts';
import { SimulatedKubelet, type SimulatedKubeletOptions } from './simulated-kubelet.ts';

export type ControllerName =
  | 'endpointslice'
  | 'endpoints'
  | 'node-ipam'
  | 'scheduler'
  | 'replicaset'
  | 'deployment'
  | 'garbage-collector'
  | 'namespace'
  | 'simulated-kubelet';

export interface ControllerManagerOptions {
  /** Controllers to leave off; all but the simulated kubelet run by default. */
  disable?: ControllerName[];
  /** Pod CIDR the Node IPAM carves Node subnets from; default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** Prefix length of a Node's pod subnet; default 24. */
  nodeCIDRMaskSize?: number;
  /** Endpoints per EndpointSlice at most; default 100. */
  maxEndpointsPerSlice?: number;
  /** Runs the simulated kubelet (true, or its options); off by default. */
  simulatedKubelet?:
    boolean | Pick<SimulatedKubeletOptions, 'allNodes' | 'startupDelayMs' | 'terminationDelayMs'>;
  log?: Log;
  /** Retry backoff of failed keys, every controller. */
  retry?: ControllerOptions['retry'];
  /** Informer knobs (tests shorten backoffs). */
  informers?: InformerTuning;
  signal?: AbortSignal;
}

export interface RunningControllers {
  readonly controllers: readonly Controller[];
  readonly informers: InformerFactory;
  close(): Promise<void>;
}

/** Starts the enabled controllers; resolves once their caches have synced and they run. */
export async function startControllers(
  client: ApiClient,
  opts: ControllerManagerOptions = {},
): Promise<RunningControllers> {
  const log = opts.log ?? stderrLogger;
  const informers = new InformerFactory(client, { log, ...opts.informers });
  const common: ControllerOptions = { informers, log, retry: opts.retry };
  const off = new Set(opts.disable ?? []);
  const kubelet = opts.simulatedKubelet;
  if (!kubelet) off.add('simulated-kubelet');
  const make: Record<ControllerName, () => Controller> = {
    'node-ipam': () =>
      new NodeIpamController(client, {
        ...common,
        clusterCIDR: opts.clusterCIDR,
        nodeCIDRMaskSize: opts.nodeCIDRMaskSize,
      }),
    scheduler: () => new SchedulerController(client, common),
    'simulated-kubelet': () =>
      new SimulatedKubelet(client, { ...common, ...(typeof kubelet === 'object' ? kubelet : {}) }),
    replicaset: () => new ReplicaSetController(client, common),
    deployment: () => new DeploymentController(client, common),
    endpointslice: () =>
      new EndpointSliceController(client, { ...common, maxEndpointsPerSlice: opts.maxEndpointsPerSlice }),
    endpoints: () => new EndpointsController(client, common),
    'garbage-collector': () => new GarbageCollector(client, common),
    namespace: () => new NamespaceController(client, common),
  };
  // All are built (handlers and indexes in place) before any informer starts.
  const controllers = (Object.keys(make) as ControllerName[])
    .filter((n) => !off.has(n))
    .map((n) => make[n]());
  let closing: Promise<void> | undefined;
  const running: RunningControllers = {
    controllers,
    informers,
    close() {
      closing ??= (async () => {
        opts.signal?.removeEventListener('abort', onAbort);
        await Promise.all(controllers.map((c) => c.close()));
        informers.stop();
      })();
      return closing;
    },
  };
  // Aborting the signal closes the controllers, during start or any time later.
  const onAbort = () => void running.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(controllers.map((c) => c.start()));
    opts.signal?.throwIfAborted();
  } catch (err) {
    await running.close();
    throw err;
  }
  return running;
}
