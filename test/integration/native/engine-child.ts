/**
 * Runs one native engine inside a node-like namespace for the integration tests (started with
 * `ip netns exec <ns> node --import tsx engine-child.ts '<json>'`): creates the engine, gives its
 * TUN the node's address and MTU as flannel does, then answers JSON-line commands on stdin
 * (counters, status, cpu, close) with JSON lines on stdout. close reports the process's fds and threads
 * before the engine was created and after it was closed, and whether the TUN device is gone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EngineOptions, EngineRoute } from '../../../dataplane/overlay/backends/udp/engine.ts';
import { createNativeEngine } from '../../../dataplane/overlay/backends/udp/native-engine.ts';

interface ChildConfig {
  engine: EngineOptions;
  routes: EngineRoute[];
  /** Address on the TUN, flannel style: the subnet's network address with the cluster prefix. */
  tunAddress: string;
}

const config = JSON.parse(process.argv[2]!) as ChildConfig;
const say = (msg: unknown) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const count = (dir: string) => readdirSync(dir).length;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });

ip('link', 'show', 'lo'); // the first spawn settles whatever node sets up for child processes
const fdsBefore = count('/proc/self/fd');
const threadsBefore = count('/proc/self/task');
const engine = createNativeEngine(config.engine);
engine.setRoutes(config.routes);
const tun = config.engine.tunName;
ip('addr', 'add', config.tunAddress, 'dev', tun);
ip('link', 'set', tun, 'mtu', String(config.engine.mtu), 'up');
// ICMP errors come from the cni0 address, a local address of this namespace: accept them on the TUN.
execFileSync('sysctl', ['-q', '-w', `net.ipv4.conf.${tun}.accept_local=1`]);
say({ ready: true, kind: engine.kind, status: engine.status() });

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { cmd: string; routes?: EngineRoute[] };
  if (cmd.cmd === 'counters') say({ counters: engine.counters() });
  else if (cmd.cmd === 'status') say({ status: engine.status() });
  // CPU time of the whole process, the engine's native threads included (getrusage RUSAGE_SELF).
  else if (cmd.cmd === 'cpu') say({ cpu: process.cpuUsage() });
  else if (cmd.cmd === 'routes') {
    engine.setRoutes(cmd.routes!);
    say({ ok: true });
  } else if (cmd.cmd === 'close') {
    await engine.close();
    await engine.close(); // idempotent
    say({
      fdsBefore,
      fdsAfter: count('/proc/self/fd'),
      threadsBefore,
      threadsAfter: count('/proc/self/task'),
      tunGone: !existsSync(`/sys/class/net/${tun}`),
      counters: engine.counters(),
    });
  } else if (cmd.cmd === 'exit') break;
}
