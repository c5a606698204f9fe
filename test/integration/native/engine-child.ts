/**
 * Runs one native engine inside a node-like namespace for the integration tests (started with
 * `ip netns exec <ns> node --import tsx engine-child.ts '<json>'`): creates the engine, gives its
 * TUN the node's address and MTU as flannel does, then answers JSON-line commands on stdin
 * (counters, status, cpu, close) with JSON lines on stdout. close reports the fds and threads that
 * appeared after the engine was created and are still there after it was closed, and whether the TUN
 * device is gone. Only the kinds the engine makes count (TUN, sockets, eventfd, epoll; threads named
 * kdp-*): Node's own module loader opens and closes files and threads at its own pace.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
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

/** fd -> target for the kinds of fds an engine opens. */
function engineKindFds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the read (the listing's own fd, for one)
    }
    if (/^(\/dev\/net\/tun|socket:|anon_inode:\[?(eventfd|eventpoll)\]?)/.test(target)) out.set(fd, target);
  }
  return out;
}

/** tid -> name of every thread of this process. */
function threads(): Map<string, string> {
  const out = new Map<string, string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Entries of `after` that were not in `before` (same key and value), as "key value". */
const appeared = (before: Map<string, string>, after: Map<string, string>) =>
  [...after].filter(([k, v]) => before.get(k) !== v).map(([k, v]) => `${k} ${v}`);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });

ip('link', 'show', 'lo'); // the first spawn settles whatever node sets up for child processes
const fdsBefore = engineKindFds();
const threadsBefore = threads();
const engine = createNativeEngine(config.engine);
const engineThreads = appeared(threadsBefore, threads());
engine.setRoutes(config.routes);
const tun = config.engine.tunName;
ip('addr', 'add', config.tunAddress, 'dev', tun);
ip('link', 'set', tun, 'mtu', String(config.engine.mtu), 'up');
// ICMP errors come from the cni0 address, a local address of this namespace: accept them on the TUN.
execFileSync('sysctl', ['-q', '-w', `net.ipv4.conf.${tun}.accept_local=1`]);
say({ ready: true, kind: engine.kind, status: engine.status(), engineThreads });

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
      fdsLeft: appeared(fdsBefore, engineKindFds()),
      threadsLeft: appeared(threadsBefore, threads()).filter((t) => / kdp-/.test(t)),
      tunGone: !existsSync(`/sys/class/net/${tun}`),
      counters: engine.counters(),
    });
  } else if (cmd.cmd === 'exit') break;
}
