/**
 * Node IPAM, as kube-controller-manager's range allocator (--allocate-node-cidrs): every Node
 * without spec.podCIDR gets the next free /24 (nodeCIDRMaskSize) of the cluster CIDR in
 * spec.podCIDR and spec.podCIDRs. flannel and kdp's overlay route pod traffic by these. The set of
 * used subnets lives in memory and is rebuilt from the Nodes at start, so a subnet is never given
 * twice; a deleted Node's subnet goes back to the pool. When the pool is empty the Node waits,
 * and a Warning Event (reason CIDRNotAvailable, as upstream) plus an error log say why.
 */
import type { Event, Node } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import { CidrSet } from './cidr-set.ts';
import { type ControllerOptions, keyOf, QueueController } from './controller.ts';
import { OwnWrites } from './own-writes.ts';
import { nowTimestamp } from './pods.ts';

export interface NodeIpamOptions extends ControllerOptions {
  /** Default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** Prefix length of each Node's subnet; default 24. */
  nodeCIDRMaskSize?: number;
}

export class NodeIpamController extends QueueController {
  private readonly nodes: Informer<Node>;
  private readonly own: OwnWrites<Node>;
  private readonly pool: CidrSet;
  /** Node name -> the subnet it holds (or was given and has not yet been seen with). */
  private readonly held = new Map<string, string>();
  /** Nodes that found the pool empty, retried when a subnet is freed. */
  private readonly starved = new Set<string>();

  constructor(client: ApiClient, opts: NodeIpamOptions = {}) {
    super('node-ipam-controller', client, opts);
    this.pool = new CidrSet(opts.clusterCIDR ?? '10.244.0.0/16', opts.nodeCIDRMaskSize ?? 24);
    this.nodes = this.informer<Node>('nodes');
    this.own = new OwnWrites(this.nodes, false);
    this.nodes.addHandlers({
      onAdd: (n) => this.queue.add(keyOf(n)),
      onUpdate: (_o, n) => this.queue.add(keyOf(n)),
      onDelete: (n) => this.queue.add(keyOf(n)),
    });
  }

  protected syncedInformers() {
    return [this.nodes];
  }

  /** Takes every subnet the existing Nodes already hold before anything is handed out. */
  protected override prepare(): void {
    for (const node of this.nodes.list()) this.adopt(node);
  }

  private adopt(node: Node): void {
    const cidr = node.spec?.podCIDRs?.[0] ?? node.spec?.podCIDR;
    if (!cidr || this.held.get(node.metadata.name!) === cidr) return;
    if (!this.pool.occupy(cidr)) {
      this.log(
        'warn',
        `node ${node.metadata.name} has pod CIDR ${cidr} outside the cluster CIDR ${this.pool.cidr}`,
      );
      return;
    }
    this.held.set(node.metadata.name!, cidr);
  }

  protected async sync(name: string): Promise<void> {
    const node = this.own.get(name);
    if (!node) {
      this.free(name);
      return;
    }
    if (node.spec?.podCIDR || node.spec?.podCIDRs?.length) {
      this.adopt(node);
      return;
    }
    let cidr = this.held.get(name);
    if (!cidr) {
      cidr = this.pool.allocateNext();
      if (!cidr) return this.exhausted(node);
      this.held.set(name, cidr);
    }
    this.starved.delete(name);
    const next: Node = { ...node, spec: { ...node.spec, podCIDR: cidr, podCIDRs: [cidr] } };
    // On failure the subnet stays held for this Node, so the retry gets the same one.
    this.own.wrote(await this.client.resource<Node>('nodes').update(next));
    this.log('info', `node ${name}: pod CIDR ${cidr}`);
  }

  private free(name: string): void {
    const cidr = this.held.get(name);
    if (!cidr) return;
    this.held.delete(name);
    this.pool.release(cidr);
    for (const waiting of this.starved) this.queue.add(waiting);
  }

  private async exhausted(node: Node): Promise<void> {
    const name = node.metadata.name!;
    if (this.starved.has(name)) return;
    this.starved.add(name);
    const message =
      `no pod CIDR left for node ${name}: all ${this.pool.size} /${this.pool.maskSize} subnets of the cluster ` +
      `CIDR ${this.pool.cidr} are in use; delete nodes or use a larger clusterCIDR or nodeCIDRMaskSize`;
    this.log('error', message);
    const now = nowTimestamp();
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${name}.`, namespace: 'default' },
      involvedObject: { kind: 'Node', name, uid: name },
      reason: 'CIDRNotAvailable',
      message,
      type: 'Warning',
      source: { component: 'cidrAllocator' },
      reportingComponent: 'cidrAllocator',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.client.resource<Event>('events').create(event);
    } catch (err) {
      this.log('warn', `could not record the CIDRNotAvailable event of node ${name}`, {
        error: describeError(err),
      });
    }
  }
}
