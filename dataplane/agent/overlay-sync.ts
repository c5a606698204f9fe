/**
 * Feeds the overlay backend from the Nodes informer: the node's own lease once, then the set of
 * peers (every other Node with a pod CIDR and an InternalIP) whenever Nodes change, coalesced
 * (a burst of heartbeats is one sync, and one that changes no lease costs the backend nothing),
 * never two syncs at once, and a failed sync retried with a capped backoff. Also publishes the
 * node's own uplink MAC on its Node, which is how peers learn it.
 */
import type { Node } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import { isUnicastMac } from '../kernel/mac.ts';
import { UNDERLAY_MAC_ANNOTATION, type OverlayBackend, type OverlayNode } from '../overlay/backend.ts';
import type { Log } from './log.ts';

/** A Node's lease, or undefined while it lacks a pod CIDR or an InternalIP. */
export function overlayNodeOf(node: Node): OverlayNode | undefined {
  const podCidr = node.spec?.podCIDRs?.[0] ?? node.spec?.podCIDR;
  const underlayIp = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!podCidr || !underlayIp || !node.metadata.name) return undefined;
  const mac = node.metadata.annotations?.[UNDERLAY_MAC_ANNOTATION]?.toLowerCase();
  // A malformed annotation is ignored: the peer is then reached with ordinary ARP.
  return {
    name: node.metadata.name,
    podCidr,
    underlayIp,
    ...(mac && isUnicastMac(mac) ? { underlayMac: mac } : {}),
  };
}

/** Writes `mac` into the Node's UNDERLAY_MAC_ANNOTATION unless it says so already. */
export async function publishUnderlayMac(
  client: ApiClient,
  nodes: Informer<Node>,
  nodeName: string,
  mac: string,
): Promise<void> {
  if (nodes.get(nodeName)?.metadata.annotations?.[UNDERLAY_MAC_ANNOTATION] === mac) return;
  await client
    .resource<Node>('nodes')
    .patch(nodeName, { metadata: { annotations: { [UNDERLAY_MAC_ANNOTATION]: mac } } }, { type: 'merge' });
}

export class OverlaySync {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly backend: OverlayBackend,
    private readonly nodes: Informer<Node>,
    private readonly self: string,
    private readonly log: Log,
  ) {}

  /** Starts the backend with the local lease, syncs once, then follows Node events. */
  async start(local: OverlayNode): Promise<void> {
    await this.backend.start(local);
    await this.backend.sync(this.peers());
    this.nodes.addHandlers({
      onAdd: () => this.schedule(10),
      onUpdate: (a, b) => {
        const x = overlayNodeOf(a);
        const y = overlayNodeOf(b);
        const moved = x?.podCidr !== y?.podCidr || x?.underlayIp !== y?.underlayIp;
        if (moved || x?.underlayMac !== y?.underlayMac) this.schedule(10);
      },
      onDelete: () => this.schedule(10),
    });
  }

  peers(): OverlayNode[] {
    return this.nodes
      .list()
      .filter((n) => n.metadata.name !== this.self)
      .map(overlayNodeOf)
      .filter((n): n is OverlayNode => n !== undefined);
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
