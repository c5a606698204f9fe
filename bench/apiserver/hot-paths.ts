/**
 * The apiserver's hot paths as operations on a fixed input, with no HTTP and no disk, for the
 * harness's micro and callgrind workloads (bench/workloads/micro/cases.ts), which bundle this
 * file, so it imports nothing native.
 */
import { createAllocators } from '../../dataplane/api/allocators/index.ts';
import { createDispatcher, type Dispatcher } from '../../dataplane/api/http/dispatch.ts';
import { Registry } from '../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../dataplane/api/registry/strategies/index.ts';
import { Store } from '../../dataplane/api/store/store.ts';
import type { KubeObject } from '../../dataplane/api/types.ts';

/** A Service as the Store holds it (uid set, ClusterIP assigned), labelled `app`. */
export function service(name: string, app = 'web'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app, tier: 'frontend' } },
    spec: {
      selector: { app },
      ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
      clusterIP: '10.96.0.10',
    },
  };
}

/** One in-memory Store.create of a new Service per call (also a case of the harness's micro workload). */
export function storeCreateOp(): () => void {
  const store = new Store();
  let n = 0;
  return () => void store.create('services', service(`s-${n++}`));
}

/**
 * The dispatcher's whole create path, request bytes to stored object, one new Service per call
 * (also a case of the harness's micro workload).
 */
export function dispatcherCreateOp(): () => void {
  const store = new Store();
  // A /12 has room for every iteration tinybench may run.
  const allocators = createAllocators({
    serviceCIDR: '10.96.0.0/12',
    nodePortRange: { first: 30000, last: 32767 },
  });
  const dispatch: Dispatcher = createDispatcher(new Registry(store, createStrategies(), allocators));
  store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const query = new URLSearchParams();
  let n = 0;
  return () => {
    const i = n++;
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `d-${i}`, labels: { app: `app-${i % 100}` } },
        spec: { selector: { app: `app-${i % 100}` }, ports: [{ port: 80, targetPort: 8080 }] },
      }),
    );
    const r = dispatch({
      method: 'POST',
      path: '/api/v1/namespaces/default/services',
      query,
      contentType: 'application/json',
      body,
    });
    if (r.kind !== 'object' || r.status !== 201) throw new Error(`create: ${JSON.stringify(r)}`);
  };
}
