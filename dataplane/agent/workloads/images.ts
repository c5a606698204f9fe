/**
 * What a container's image means in kdp, which has no container runtime: a few image names select
 * a built-in workload, any other image runs the container's command as a program of the host
 * inside the pod's network namespace. As in Kubernetes, an image has an entrypoint and default
 * arguments; `command` replaces the entrypoint (and drops the default arguments), `args` replaces
 * the default arguments.
 *
 *   kdp/pause     no process (the pod is only a network namespace)
 *   kdp/echo      TCP and UDP echo on the container's ports (default 7)
 *   kdp/http      HTTP answering the pod's name on the container's TCP ports (default 8080)
 *   kdp/iperf3    iperf3 -s (default port 5201)
 *   kdp/sockperf  sockperf server (default UDP 11111; a TCP container port selects --tcp)
 *   kdp/dns       the cluster DNS (dataplane/dns) on UDP and TCP 53, reading the cluster through
 *                 the agent's read-only relay (dns/api-relay.ts)
 *
 * A launch also says which ports must be open before the container counts as ready: a built-in's
 * own ports; for a host program the port of its tcpSocket readinessProbe, else none (ready once
 * started).
 */
import { dirname, join } from 'node:path';
import type { Container, Protocol } from '../../api/types.ts';
import { KdpError } from '../../errors.ts';

export const IMAGE_ERROR = 'KDP_ERR_AGENT_IMAGE';

export interface PortSpec {
  protocol: 'TCP' | 'UDP';
  port: number;
}

export type Launch =
  { kind: 'none' } | { kind: 'process'; argv: string[]; readyPorts: PortSpec[]; builtin: boolean };

export interface LaunchContext {
  /** The bundled built-in servers (bundle.ts). */
  workloadScript: string;
  /** The node binary that runs them. */
  nodeBinary: string;
  /** The process title a built-in server sets. */
  title: string;
}

export const BUILTIN_IMAGES = [
  'kdp/pause',
  'kdp/echo',
  'kdp/http',
  'kdp/iperf3',
  'kdp/sockperf',
  'kdp/dns',
] as const;
/** The image whose containers get the agent's API relay (dns/api-relay.ts). */
export const DNS_IMAGE = 'kdp/dns';
/** Bundled next to the small servers (bundle.ts's DNS_WORKLOAD_FILE). */
const DNS_SCRIPT = 'kdp-dns.mjs';

/** `kdp/http:1.0` and `kdp/http` are the same built-in; the tag means nothing to kdp. */
export function imageName(image: string | undefined): string {
  const name = image ?? '';
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}

function declared(c: Container, protocols: Protocol[]): PortSpec[] {
  return (c.ports ?? [])
    .map((p) => ({ protocol: (p.protocol ?? 'TCP') as PortSpec['protocol'], port: p.containerPort }))
    .filter((p) => protocols.includes(p.protocol));
}

interface Builtin {
  entrypoint(ctx: LaunchContext): string[];
  defaults(c: Container): { args: string[]; ports: PortSpec[] };
}

const serverEntrypoint = (kind: string) => (ctx: LaunchContext) => [
  ctx.nodeBinary,
  ctx.workloadScript,
  ctx.title,
  kind,
];

const BUILTINS: Record<string, Builtin | null> = {
  'kdp/pause': null,
  'kdp/echo': {
    entrypoint: serverEntrypoint('echo'),
    defaults(c) {
      let ports = declared(c, ['TCP', 'UDP']);
      if (ports.length === 0)
        ports = [
          { protocol: 'TCP', port: 7 },
          { protocol: 'UDP', port: 7 },
        ];
      return {
        args: ports.flatMap((p) => [p.protocol === 'TCP' ? '--tcp' : '--udp', String(p.port)]),
        ports,
      };
    },
  },
  'kdp/http': {
    entrypoint: serverEntrypoint('http'),
    defaults(c) {
      let ports = declared(c, ['TCP']);
      if (ports.length === 0) ports = [{ protocol: 'TCP', port: 8080 }];
      return { args: ports.flatMap((p) => ['--port', String(p.port)]), ports };
    },
  },
  'kdp/iperf3': {
    entrypoint: () => ['iperf3'],
    defaults(c) {
      const port = declared(c, ['TCP'])[0]?.port ?? 5201;
      return { args: ['-s', '-p', String(port)], ports: [{ protocol: 'TCP', port }] };
    },
  },
  'kdp/dns': {
    entrypoint: (ctx) => [ctx.nodeBinary, join(dirname(ctx.workloadScript), DNS_SCRIPT), ctx.title],
    defaults(c) {
      // One port number for both protocols: the declared one (TCP or UDP), else 53.
      const port = declared(c, ['UDP', 'TCP'])[0]?.port ?? 53;
      return {
        args: ['--port', String(port)],
        ports: [
          { protocol: 'UDP', port },
          { protocol: 'TCP', port },
        ],
      };
    },
  },
  'kdp/sockperf': {
    entrypoint: () => ['sockperf'],
    defaults(c) {
      const first = declared(c, ['TCP', 'UDP'])[0] ?? { protocol: 'UDP', port: 11111 };
      const tcp = first.protocol === 'TCP' ? ['--tcp'] : [];
      return { args: ['server', '-i', '0.0.0.0', '-p', String(first.port), ...tcp], ports: [first] };
    },
  },
};

/**
 * A host program is ready once started, unless a tcpSocket readinessProbe names its port (a
 * number, or a container port's name): then, as a kubelet would find, once that port listens.
 */
function probedPorts(c: Container): PortSpec[] {
  const port = c.readinessProbe?.tcpSocket?.port;
  if (port === undefined) return [];
  const number = typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
  if (number === undefined) {
    throw new KdpError(IMAGE_ERROR, `readinessProbe.tcpSocket.port "${port}" names no port of the container`);
  }
  return [{ protocol: 'TCP', port: number }];
}

/** How to run a container; throws IMAGE_ERROR when kdp cannot run it. */
export function launchFor(c: Container, ctx: LaunchContext): Launch {
  const name = imageName(c.image);
  const builtin = BUILTINS[name];
  const command = c.command?.length ? c.command : undefined;
  if (command) {
    return {
      kind: 'process',
      argv: [...command, ...(c.args ?? [])],
      readyPorts: probedPorts(c),
      builtin: false,
    };
  }
  if (builtin === null) {
    if (c.args?.length) {
      throw new KdpError(IMAGE_ERROR, `image kdp/pause runs no process, so it takes no args; give a command`);
    }
    return { kind: 'none' };
  }
  if (builtin === undefined) {
    throw new KdpError(
      IMAGE_ERROR,
      `image "${c.image ?? ''}" is not one of kdp's built-ins (${BUILTIN_IMAGES.join(', ')}) and the container has no command: kdp runs no container images, only built-ins and host programs given as command`,
    );
  }
  const defaults = builtin.defaults(c);
  const own = c.args?.length ? c.args : undefined;
  // With its own args a built-in listens where they say; its declared ports are the best guess.
  const readyPorts = own ? declared(c, ['TCP', 'UDP']) : defaults.ports;
  const args = own ?? defaults.args;
  return { kind: 'process', argv: [...builtin.entrypoint(ctx), ...args], readyPorts, builtin: true };
}
