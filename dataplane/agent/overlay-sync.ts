/**
 * Feeds the overlay backend from the Nodes informer: the node's own lease once, then the set of
 * peers (every other Node with a pod CIDR and an InternalIP) whenever Nodes change, coalesced
 * (a burst of heartbeats is one sync, and one that changes no lease costs the backend nothing),
 * never two syncs at once, and a failed sync retried with a capped backoff. A change of any part
 * of a lease (subnet, address, backend type or data, uplink MAC) is a sync. Also publishes the
 * node's own lease on its Node (overlay/leases.ts), which is how peers learn it.
 */
import type { Node } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import type { OverlayBackend, OverlayNode, OverlayStarted } from '../overlay/backend.ts';
import {
  leaseAnnotations,
  leaseChanged,
  missingAnnotations,
  parseLease,
  type OwnLease,
} from '../overlay/leases.ts';
import type { Log } from '../log.ts';

/** A Node's lease (overlay/leases.ts), or undefined while it lacks a pod CIDR or an address. */
export function overlayNodeOf(node: Node): OverlayNode | undefined {
  return parseLease(node).lease;
}

/** Writes the node's lease annotations (flannel's and kdp's underlay MAC) unless they say so already. */
export async function publishLease(
  client: ApiClient,
  nodes: Informer<Node>,
  nodeName: string,
  lease: OwnLease,
): Promise<void> {
  const patch = missingAnnotations(nodes.get(nodeName), leaseAnnotations(lease));
  if (Object.keys(patch).length === 0) return;
  await client
    .resource<Node>('nodes')
    .patch(nodeName, { metadata: { annotations: patch } }, { type: 'merge' });
}

export class OverlaySync {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private failures = 0;
  private closed = false;
  /** Reasons already logged per Node for ignored annotations, so a heartbeat does not repeat them. */
  private readonly ignored = new Map<string, string>();

  constructor(
    private readonly backend: OverlayBackend,
    private readonly nodes: Informer<Node>,
    private readonly self: string,
    private readonly log: Log,
  ) {}

  /** Starts the backend with the local lease, syncs once, then follows Node events. */
  async start(local: OverlayNode): Promise<OverlayStarted> {
    const started = await this.backend.start(local);
    await this.backend.sync(this.peers());
    this.nodes.addHandlers({
      onAdd: () => this.schedule(10),
      onUpdate: (a, b) => {
        if (leaseChanged(overlayNodeOf(a), overlayNodeOf(b))) this.schedule(10);
      },
      onDelete: () => this.schedule(10),
    });
    return started;
  }

  peers(): OverlayNode[] {
    return this.nodes
      .list()
      .filter((n) => n.metadata.name !== this.self)
      .map((n) => this.leaseOf(n))
      .filter((n): n is OverlayNode => n !== undefined);
  }

  /** The Node's lease, logging once what of its annotations was ignored. */
  private leaseOf(node: Node): OverlayNode | undefined {
    const { lease, ignored } = parseLease(node);
    const name = node.metadata.name ?? '';
    const reasons = ignored.join('; ');
    if (reasons && this.ignored.get(name) !== reasons) {
      this.log('warn', `overlay: Node ${name}: ignored ${reasons}`);
    }
    if (reasons) this.ignored.set(name, reasons);
    else this.ignored.delete(name);
    return lease;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.backend.close();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        }
      });
    }, delayMs);
  }

  private async run(): Promise<void> {
    try {
      await this.backend.sync(this.peers());
      this.failures = 0;
    } catch (e) {
      this.failures++;
      const delay = Math.min(30_000, 250 * 2 ** this.failures);
      this.log('error', `overlay ${this.backend.name}: sync failed, retrying in ${delay} ms`, {
        error: describeError(e),
      });
      setTimeout(() => this.schedule(0), delay).unref();
    }
  }
}
