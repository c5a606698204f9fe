/**
 * Connects a Proxier of any mode to the apiserver through informers, as kube-proxy's server does:
 * Services and EndpointSlices (without those another proxy owns, labelled
 * service.kubernetes.io/service-proxy-name, or of headless Services), and this Node only. The
 * proxier is told the initial lists arrived once all three informers synced, so its first sync
 * already has the Node's addresses for NodePorts. Works the same with kdp's in-process apiserver,
 * its socket, or a real cluster: `runProxier(p, { client: connect({ kubeconfig }) })`.
 */
import type { EndpointSlice, Node, Service } from '../api/types.ts';
import { LABEL_HEADLESS } from '../api/types.ts';
import { InformerFactory } from '../client/informer-factory.ts';
import type { InformerTuning } from '../client/informer.ts';
import type { ApiClient } from '../client/interface.ts';
import { KdpError } from '../errors.ts';
import type { Proxier } from './proxier-contract.ts';

/** Objects with this label are served by another proxy (upstream's LabelServiceProxyName). */
export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';

/** What kube-proxy lists and watches: nothing another proxy claims, no headless Service's slices. */
export const PROXY_LABEL_SELECTOR = `!${LABEL_SERVICE_PROXY_NAME},!${LABEL_HEADLESS}`;

export interface RunProxierOptions {
  /** Informers shared with the rest of the agent (runProxier starts the factory; the owner stops it). */
  informers?: InformerFactory;
  /** Without `informers`: the client to make (and, on stop, end) informers of our own. */
  client?: ApiClient;
  /** Knobs of our own informers. */
  tuning?: InformerTuning;
  /** Aborting while the initial lists load stops everything and rejects. */
  signal?: AbortSignal;
}

export interface RunningProxier {
  readonly proxier: Proxier;
  /** Stops the sync loop and, if runProxier made them, the informers. Idempotent. */
  stop(): Promise<void>;
}

/** Feeds `proxier` from informers and starts its sync loop; resolves once the initial lists are in. */
export async function runProxier(proxier: Proxier, opts: RunProxierOptions): Promise<RunningProxier> {
  const owned = !opts.informers;
  if (owned && !opts.client) {
    throw new KdpError('KDP_ERR_PROXY_CONFIG', 'runProxier needs either shared informers or a client');
  }
  const factory = opts.informers ?? new InformerFactory(opts.client!, opts.tuning);
  const p = proxier;
  const services = factory.informer<Service>('services', { labelSelector: PROXY_LABEL_SELECTOR });
  const slices = factory.informer<EndpointSlice>('discovery.k8s.io/endpointslices', {
    labelSelector: PROXY_LABEL_SELECTOR,
  });
  const nodes = factory.informer<Node>('nodes', { fieldSelector: `metadata.name=${p.nodeName}` });
  services.addHandlers({
    onAdd: (s) => p.onServiceAdd(s),
    onUpdate: (a, b) => p.onServiceUpdate(a, b),
    onDelete: (s) => p.onServiceDelete(s),
  });
  slices.addHandlers({
    onAdd: (s) => p.onEndpointSliceAdd(s),
    onUpdate: (a, b) => p.onEndpointSliceUpdate(a, b),
    onDelete: (s) => p.onEndpointSliceDelete(s),
  });
  nodes.addHandlers({
    onAdd: (n) => p.onNodeAdd(n),
    onUpdate: (a, b) => p.onNodeUpdate(a, b),
    onDelete: (n) => p.onNodeDelete(n),
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await p.stop();
      if (owned) factory.stop();
    })());

  p.start();
  factory.start();
  try {
    await Promise.all([
      services.waitForSync(opts.signal),
      slices.waitForSync(opts.signal),
      nodes.waitForSync(opts.signal),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  return { proxier: p, stop };
}
