/**
 * What `kdp apiserver` runs next to the server: every controller over an in-process client (no
 * sockets between them), with the simulated kubelet for Nodes labelled kdp.dev/simulated=true,
 * so a standalone control plane behaves like a cluster: Deployments make ReplicaSets and Pods,
 * the scheduler binds them, and EndpointSlices follow.
 */
import type { ApiServer } from '../api/apiserver.ts';
import { connect } from '../client/index.ts';
import { startControllers } from '../controllers/manager.ts';

export async function startApiserverControllers(server: ApiServer): Promise<{ close(): Promise<void> }> {
  const client = connect({ dispatcher: server.dispatcher });
  const running = await startControllers(client, { simulatedKubelet: true });
  return {
    async close() {
      try {
        await running.close();
      } finally {
        client.close();
      }
    },
  };
}
