/**
 * What the iptables sync workloads (proxy-sync.ts) drive: kdp's in-process apiserver holding N
 * Services x E endpoints (created directly, as the EndpointSlice controller would publish them,
 * with no pods), a Node for the proxier, throwaway node namespaces (kdp-bench<pid>w<n>-*: a prefix
 * per world, as the matrix keeps several worlds at once and each removes its own), and
 * TimedProxiers fed through runProxier like an agent's. With `fake` the same runs on FakeIptables
 * (no root), for the smoke suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../dataplane/api/apiserver.ts';
import {
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  LABEL_SERVICE_NAME,
  type EndpointSlice,
  type Node,
  type Service,
} from '../../../dataplane/api/types.ts';
import { connect } from '../../../dataplane/client/index.ts';
import type { ApiClient } from '../../../dataplane/client/interface.ts';
import { ipv4ToNumber, numberToIpv4 } from '../../../dataplane/kernel/cidr.ts';
import { createConntrack } from '../../../dataplane/kernel/conntrack/conntrack.ts';
import type { Conntrack } from '../../../dataplane/kernel/conntrack/interface.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import type { Iptables } from '../../../dataplane/kernel/iptables/interface.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import type { IptablesBackend } from '../../../dataplane/kernel/iptables/types.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { runProxier, type RunningProxier } from '../../../dataplane/proxy/wire.ts';
import { timedIptables, TimedProxier } from './timed-proxier.ts';

export const NODE = 'bench-node';
/** Endpoint addresses come from here; it is also the proxier's cluster CIDR. */
export const POD_NETWORK = '10.128.0.0/9';
const FIRST_ENDPOINT = ipv4ToNumber('10.128.0.1');

export interface SyncWorldOptions {
  services: number;
  endpointsPerService: number;
  backend: IptablesBackend;
  /** FakeIptables and FakeConntrack instead of the kernel (no root). */
  fake?: boolean;
  /** The proxier's option: false skips the iptables-save before each full sync. */
  rereadForeignRules?: boolean;
}

let worlds = 0;

export class SyncWorld {
  readonly prefix = `kdp-bench${process.pid}w${++worlds}-`;
  private readonly kernel = createIproute2Kernel({ prefix: this.prefix });
  private readonly fakeIptables?: FakeIptables;
  private readonly fakeConntrack?: FakeConntrack;
  private nsCount = 0;
  private nextEndpoint: bigint;
  private readonly running = new Map<TimedProxier, RunningProxier>();

  private constructor(
    readonly options: SyncWorldOptions,
    readonly server: ApiServer,
    readonly client: ApiClient,
    private readonly dir: string,
  ) {
    if (options.fake) {
      this.fakeIptables = new FakeIptables({ prefix: this.prefix });
      this.fakeConntrack = new FakeConntrack();
    }
    this.nextEndpoint = FIRST_ENDPOINT + BigInt(options.services * options.endpointsPerService);
  }

  /** Starts the apiserver and creates the Node and every Service and EndpointSlice. */
  static async create(options: SyncWorldOptions): Promise<SyncWorld> {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-proxy-'));
    const server = await ApiServer.start({
      stateDir: dir,
      host: false,
      socketPath: false,
      serviceCIDR: '10.96.0.0/16',
      watchWindow: 200_000,
    });
    const client = connect({ dispatcher: server.dispatcher });
    const world = new SyncWorld(options, server, client, dir);
    await world.populate();
    return world;
  }

  private async populate(): Promise<void> {
    const { services, endpointsPerService: e } = this.options;
    const nodes = this.client.resource<Node>('nodes');
    const node = await nodes.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } },
      spec: { podCIDR: '10.128.0.0/24', podCIDRs: ['10.128.0.0/24'] },
    });
    await nodes.updateStatus({
      ...node,
      status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] },
    });
    const svcApi = this.client.resource<Service>('services');
    const sliceApi = this.client.resource<EndpointSlice>('discovery.k8s.io/endpointslices');
    const ips = (i: number) =>
      Array.from({ length: e }, (_, j) => numberToIpv4(FIRST_ENDPOINT + BigInt(i * e + j)));
    for (let i = 0; i < services; i += 128) {
      const batch = Array.from({ length: Math.min(128, services - i) }, (_, k) => i + k);
      await Promise.all(
        batch.map(async (n) => {
          await svcApi.create({
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: `svc-${n}`, namespace: 'default' },
            spec: {
              selector: { app: `svc-${n}` },
              ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
            },
          });
          await sliceApi.create(sliceOf(n, ips(n)));
        }),
      );
    }
  }

  /** A fresh node namespace (none with the fake). */
  async namespace(): Promise<string> {
    const ns = `${this.prefix}node-${++this.nsCount}`;
    if (!this.options.fake) await this.kernel.netns.create(ns);
    return ns;
  }

  async deleteNamespace(ns: string): Promise<void> {
    if (!this.options.fake) await this.kernel.netns.delete(ns);
    else await this.fakeIptables!.restore(ns, '*filter\nCOMMIT\n*nat\nCOMMIT\n');
  }

  iptables(): Iptables {
    return this.fakeIptables ?? createIptables({ prefix: this.prefix, backend: this.options.backend });
  }

  private conntrack(): Conntrack {
    return this.fakeConntrack ?? createConntrack({ prefix: this.prefix });
  }

  /** A TimedProxier on `ns`, fed by the apiserver; resolves once its initial lists are in. */
  async proxier(ns: string, minSyncPeriodMs: number): Promise<TimedProxier> {
    const proxier: TimedProxier = new TimedProxier({
      nodeName: NODE,
      netns: ns,
      iptables: timedIptables(this.iptables(), () => {
        proxier.restoredAt = performance.timeOrigin + performance.now();
      }),
      conntrack: this.conntrack(),
      clusterCIDR: POD_NETWORK,
      rereadForeignRules: this.options.rereadForeignRules,
      minSyncPeriodMs,
      // Only the benchmark's own changes sync: no periodic sync in the middle of a measurement.
      syncPeriodMs: 3_600_000,
    });
    this.running.set(proxier, await runProxier(proxier, { client: this.client }));
    return proxier;
  }

  /** Stops a proxier's sync loop and its informers (its rules stay). */
  async stopProxier(proxier: TimedProxier): Promise<void> {
    await this.running.get(proxier)?.stop();
    this.running.delete(proxier);
  }

  async stopProxiers(): Promise<void> {
    await Promise.all([...this.running.keys()].map((p) => this.stopProxier(p)));
  }

  /** Forces a full sync of every proxier: their Node's labels change (as a node relabel would). */
  async touchNode(i: number): Promise<void> {
    await this.client
      .resource<Node>('nodes')
      .patch(NODE, { metadata: { labels: { 'bench.kdp.dev/round': String(i) } } }, { type: 'merge' });
  }

  /**
   * Replaces one endpoint of Service `n` with a new address, stamped with its trigger time.
   * Returns the trigger time (Date.now(), as the annotation says it) and the same moment on the
   * performance clock the sync records use.
   */
  async moveEndpoint(n: number, slot: number): Promise<{ trigger: number; at: number }> {
    const api = this.client.resource<EndpointSlice>('discovery.k8s.io/endpointslices');
    const slice = await api.get(`svc-${n}-bench`, 'default');
    const endpoints = slice.endpoints.map((ep, j) =>
      j === slot ? { ...ep, addresses: [numberToIpv4(this.nextEndpoint++)] } : ep,
    );
    const trigger = Date.now();
    const at = performance.timeOrigin + performance.now();
    const annotations = { [ANNOTATION_LAST_CHANGE_TRIGGER_TIME]: new Date(trigger).toISOString() };
    await api.update({ ...slice, metadata: { ...slice.metadata, annotations }, endpoints });
    return { trigger, at };
  }

  async close(): Promise<void> {
    await this.stopProxiers();
    this.client.close();
    await this.server.close();
    if (!this.options.fake) await this.kernel.netns.deleteMany(await this.kernel.netns.list(this.prefix));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sliceOf(n: number, ips: string[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${n}-bench`, namespace: 'default', labels: { [LABEL_SERVICE_NAME]: `svc-${n}` } },
    addressType: 'IPv4',
    endpoints: ips.map((ip, j) => ({
      addresses: [ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: j === 0 ? NODE : `node-${j}`,
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}
