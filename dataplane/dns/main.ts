/**
 * The kdp/dns workload: `node kdp-dns.mjs <title> [--port 53] [--bind ADDR] [--zone Z] [--ttl S]
 * [--api-socket PATH]`, run by the node agent in a DNS pod like any built-in server (bundled
 * separately from the small servers, see agent/workloads/bundle.ts, so they stay small). It reads
 * the cluster through the agent's relay in its own directory ($HOME/api.sock, api-relay.ts), waits
 * for its first lists, then answers on UDP and TCP: the port opens only once the view is complete,
 * which is when the agent reports the pod Ready. SIGTERM closes the sockets and exits 0.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '../client/client.ts';
import { createHttpTransport } from '../client/http-transport.ts';
import { RELAY_SOCKET } from './api-relay.ts';
import { DnsFeed } from './feed.ts';
import { DEFAULT_TTL, DEFAULT_ZONE } from './records.ts';
import { DnsServer } from './server.ts';

async function main(): Promise<void> {
  const [title, ...flags] = process.argv.slice(2);
  if (title) process.title = title;
  const { values } = parseArgs({
    args: flags,
    options: {
      port: { type: 'string', default: '53' },
      bind: { type: 'string', default: '0.0.0.0' },
      zone: { type: 'string', default: DEFAULT_ZONE },
      ttl: { type: 'string', default: String(DEFAULT_TTL) },
      'api-socket': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  const ttl = Number(values.ttl);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${values.port}`);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new Error(`not a TTL in seconds: ${values.ttl}`);
  const socketPath = values['api-socket'] ?? join(process.env.HOME ?? '.', RELAY_SOCKET);
  // The transport alone (not client/index.ts, which brings kubeconfig and YAML into the bundle).
  const client = createClient(createHttpTransport({ socketPath, userAgent: 'kdp-dns' }));
  const feed = new DnsFeed(client);
  feed.start();
  await feed.waitForSync();
  const server = await DnsServer.start({
    bind: values.bind,
    port,
    zone: values.zone,
    ttl,
    index: feed.current,
  });
  console.log(
    JSON.stringify({
      listening: [
        { protocol: 'UDP', port },
        { protocol: 'TCP', port },
      ],
      zone: values.zone,
    }),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    feed.stop();
    client.close();
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

try {
  await main();
} catch (e) {
  console.error(`kdp dns server: ${(e as Error).message}`);
  process.exit(1);
}
