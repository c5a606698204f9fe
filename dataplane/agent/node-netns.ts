/**
 * Which named namespace the agent runs in. The agent is started inside its node's namespace
 * (nsenter --net=/run/netns/<node ns>), but every kernel call names its namespace explicitly (the
 * kernel layer's host guard), so the agent finds the name: the entry of /run/netns with the
 * cluster's prefix whose namespace is the agent's own (same device and inode as
 * /proc/self/ns/net). --netns skips the search.
 */
import { stat } from 'node:fs/promises';
import { KdpError } from '../errors.ts';
import type { Kernel } from '../kernel/interfaces.ts';

export async function findOwnNamespace(kernel: Kernel): Promise<string> {
  const self = await stat('/proc/self/ns/net');
  for (const name of await kernel.netns.list(kernel.prefix)) {
    try {
      const s = await stat(kernel.netns.path(name));
      if (s.dev === self.dev && s.ino === self.ino) return name;
    } catch {
      // Deleted while we looked: not ours.
    }
  }
  throw new KdpError(
    'KDP_ERR_AGENT_NETNS',
    `the agent does not run in a namespace named ${kernel.prefix}*: start it with nsenter --net=/run/netns/<node namespace>, or give --netns`,
  );
}
