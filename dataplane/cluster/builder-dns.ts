/**
 * The cluster DNS as kubeadm installs it, with upstream's names: Service `kube-dns` in kube-system
 * at the service range's tenth address (10.96.0.10), ports 53/UDP `dns` and 53/TCP `dns-tcp`,
 * selecting `k8s-app: kube-dns`; Deployment `coredns` of two kdp/dns pods (dnsPolicy Default, as
 * CoreDNS's own pods: they must not resolve through themselves). The agents write
 * `nameserver <that address>` into every ClusterFirst pod's resolv.conf (--cluster-dns). The
 * Service is load-balanced by whichever proxy mode the cluster runs, as on a real cluster.
 */
import type { Deployment, Service } from '../api/types.ts';
import type { ApiClient } from '../client/interface.ts';
import { nthAddress } from '../kernel/cidr.ts';
import { waitForObjects } from './builder-wait.ts';
import type { Topology } from './topology.ts';

export const DNS_NAMESPACE = 'kube-system';
export const DNS_SERVICE = 'kube-dns';
export const DNS_DEPLOYMENT = 'coredns';
export const DNS_LABELS = { 'k8s-app': 'kube-dns' } as const;
export const DNS_REPLICAS = 2;
export const DNS_IMAGE = 'kdp/dns';

/** The kube-dns address: the tenth of the service range (kubeadm's choice), or none without DNS. */
export function clusterDnsIp(topology: Topology): string | undefined {
  return topology.dns === false ? undefined : nthAddress(topology.serviceCidr, 10);
}

export function dnsService(topology: Topology): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: DNS_SERVICE,
      namespace: DNS_NAMESPACE,
      labels: { ...DNS_LABELS, 'kubernetes.io/name': 'CoreDNS' },
    },
    spec: {
      clusterIP: clusterDnsIp(topology),
      selector: { ...DNS_LABELS },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  };
}

export function dnsDeployment(replicas = DNS_REPLICAS): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: DNS_DEPLOYMENT, namespace: DNS_NAMESPACE, labels: { ...DNS_LABELS } },
    spec: {
      replicas,
      selector: { matchLabels: { ...DNS_LABELS } },
      template: {
        metadata: { labels: { ...DNS_LABELS } },
        spec: {
          dnsPolicy: 'Default',
          containers: [
            {
              name: 'coredns',
              image: DNS_IMAGE,
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              ],
            },
          ],
        },
      },
    },
  };
}

/** Creates the Service and the Deployment (nothing when the topology has no DNS). */
export async function createClusterDns(client: ApiClient, topology: Topology): Promise<boolean> {
  if (topology.dns === false) return false;
  await client.resource<Service>('services').create(dnsService(topology));
  await client.resource<Deployment>('apps/deployments').create(dnsDeployment());
  return true;
}

/** Resolves once the DNS Deployment's pods are all Ready. */
export async function waitForClusterDns(
  client: ApiClient,
  options: { signal?: AbortSignal; timeoutMs: number },
): Promise<void> {
  await waitForObjects<Deployment, true>(
    client,
    'apps/deployments',
    'the cluster DNS pods to be Ready',
    (list) => {
      const d = list.find((x) => x.metadata.name === DNS_DEPLOYMENT);
      const want = d?.spec.replicas ?? DNS_REPLICAS;
      const ready = d?.status?.readyReplicas ?? 0;
      return {
        done: ready >= want ? true : undefined,
        pending: `${ready}/${want} ${DNS_DEPLOYMENT} pods Ready`,
      };
    },
    { ...options, namespace: DNS_NAMESPACE },
  );
}
