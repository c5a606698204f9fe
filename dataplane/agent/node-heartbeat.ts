/**
 * Keeps the agent's Node Ready, as a kubelet's node status loop does: the Ready condition with a
 * fresh lastHeartbeatTime every interval (lastTransitionTime only when it changes), and, once the
 * overlay has programmed the node, NetworkUnavailable=False as flannel reports it. Other
 * conditions on the Node are kept. Written as a merge patch of status.conditions through the
 * status subresource, so the builder's addresses are never overwritten.
 */
import { isApiError } from '../api/errors.ts';
import type { Condition, Node } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { describeError } from '../errors.ts';
import type { Log } from '../log.ts';

export interface NodeHeartbeatOptions {
  client: ApiClient;
  nodes: Informer<Node>;
  nodeName: string;
  log: Log;
  /** Default 10 s. */
  intervalMs?: number;
  /** Whether the overlay is up (NetworkUnavailable=False is reported from then on). */
  networkReady(): boolean;
}

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class NodeHeartbeat {
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private closed = false;

  constructor(private readonly o: NodeHeartbeatOptions) {}

  start(): void {
    const loop = async () => {
      await this.beat();
      if (!this.closed) this.timer = setTimeout(loop, this.o.intervalMs ?? 10_000);
    };
    void loop();
  }

  /** Posts the node's conditions now (also called when the overlay comes up). */
  beat(): Promise<void> {
    this.beating ??= this.post().finally(() => (this.beating = undefined));
    return this.beating;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
  }

  private async post(): Promise<void> {
    const node = this.o.nodes.get(this.o.nodeName);
    const now = nowIso();
    const previous = new Map((node?.status?.conditions ?? []).map((c) => [c.type, c]));
    const mine: Condition[] = [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'kdp agent is posting ready status',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ];
    if (this.o.networkReady()) {
      mine.push({
        type: 'NetworkUnavailable',
        status: 'False',
        reason: 'RouteCreated',
        message: 'kdp agent programmed the overlay on this node',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      });
    }
    for (const c of mine) {
      const before = previous.get(c.type);
      if (before?.status === c.status && before.lastTransitionTime)
        c.lastTransitionTime = before.lastTransitionTime;
    }
    const others = (node?.status?.conditions ?? []).filter((c) => !mine.some((m) => m.type === c.type));
    try {
      await this.o.client
        .resource<Node>('nodes')
        .patch(
          this.o.nodeName,
          { status: { conditions: [...others, ...mine] } },
          { subresource: 'status', type: 'merge' },
        );
    } catch (e) {
      const level = isApiError(e, 'NotFound') ? 'warn' : 'error';
      this.o.log(level, `node ${this.o.nodeName}: status not posted`, { error: describeError(e) });
    }
  }
}
