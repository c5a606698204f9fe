/**
 * The program every built-in server pod runs (one node process per pod, inside the pod's network
 * namespace): `node kdp-workload.mjs <title> <kind> [flags]`. It sets its process title
 * (kdp:<cluster>:pod:<ns>/<name>, how `ps` and `kdp cleanup` recognise it), starts the server,
 * prints one JSON line with what it listens on, and on SIGTERM closes its listeners and exits 0,
 * as a well-behaved container does within its grace period. The agent bundles this file with the
 * servers it imports into one plain-JavaScript file (bundle.ts), so a pod costs a bare node start.
 *
 *   echo [--tcp PORT]... [--udp PORT]... [--bind ADDR]   TCP and UDP echo
 *   http [--port PORT]... [--name NAME] [--bind ADDR]     answers NAME (default $KDP_POD_NAME)
 */
import { parseArgs } from 'node:util';
import { startEcho } from './echo.ts';
import { startHttp } from './http.ts';
import type { RunningServer } from './server-types.ts';

function ports(values: string[] | undefined, fallback: number[]): number[] {
  if (!values || values.length === 0) return fallback;
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port: ${v}`);
    return n;
  });
}

async function start(kind: string, flags: string[]): Promise<RunningServer> {
  const { values } = parseArgs({
    args: flags,
    options: {
      bind: { type: 'string', default: '0.0.0.0' },
      tcp: { type: 'string', multiple: true },
      udp: { type: 'string', multiple: true },
      port: { type: 'string', multiple: true },
      name: { type: 'string' },
    },
    strict: true,
  });
  const bind = values.bind!;
  switch (kind) {
    case 'echo': {
      const none = !values.tcp?.length && !values.udp?.length;
      return startEcho({
        bind,
        tcp: ports(values.tcp, none ? [7] : []),
        udp: ports(values.udp, none ? [7] : []),
      });
    }
    case 'http':
      return startHttp({
        bind,
        ports: ports(values.port, [8080]),
        name: values.name ?? process.env.KDP_POD_NAME ?? 'unknown',
      });
    default:
      throw new Error(`unknown built-in server "${kind}" (known: echo, http)`);
  }
}

async function main(): Promise<void> {
  const [title, kind, ...flags] = process.argv.slice(2);
  if (title) process.title = title;
  let server: RunningServer;
  try {
    server = await start(kind ?? '', flags);
  } catch (e) {
    console.error(`kdp ${kind ?? ''} server: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(JSON.stringify({ listening: server.listening }));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
