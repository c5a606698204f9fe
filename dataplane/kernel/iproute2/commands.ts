/**
 * NetOps as iproute2 arguments: the one place that knows `ip`'s command syntax. The same text
 * serves as a single command (`ip -n NS <args>`), as a line of `ip -n NS -batch -`, and as the
 * human description of an operation in error messages (also the fake's). Names and addresses
 * have been checked (check.ts) before they get here, so no argument holds whitespace or quotes.
 */
import type { NetOp, RouteSpec } from '../types.ts';

function routeArgs(verb: string, r: RouteSpec): string[] {
  const args = ['route', verb, r.dst];
  if (r.via !== undefined) args.push('via', r.via);
  if (r.dev !== undefined) args.push('dev', r.dev);
  if (r.src !== undefined) args.push('src', r.src);
  if (r.table !== undefined) args.push('table', String(r.table));
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  if (r.onlink) args.push('onlink');
  return args;
}

/** Arguments after `ip -n <ns>`; undefined for sysctl.set, which iproute2 does not do. */
export function ipArgs(op: NetOp): string[] | undefined {
  switch (op.kind) {
    case 'bridge.add':
      return ['link', 'add', 'name', op.name, ...(op.mtu ? ['mtu', String(op.mtu)] : []), 'type', 'bridge'];
    case 'veth.add': {
      const mtu = op.mtu ? ['mtu', String(op.mtu)] : [];
      const peerNs = op.peerNs === op.ns ? [] : ['netns', op.peerNs];
      return [
        'link',
        'add',
        'name',
        op.name,
        ...mtu,
        'type',
        'veth',
        'peer',
        'name',
        op.peerName,
        ...mtu,
        ...peerNs,
      ];
    }
    case 'vxlan.add':
      return [
        'link',
        'add',
        'name',
        op.name,
        ...(op.mtu ? ['mtu', String(op.mtu)] : []),
        ...(op.address ? ['address', op.address] : []),
        'type',
        'vxlan',
        'id',
        String(op.vni),
        'local',
        op.local,
        'dev',
        op.dev,
        'dstport',
        String(op.port),
        'nolearning',
      ];
    case 'link.set': {
      const args = ['link', 'set', 'dev', op.name];
      if (op.master === null) args.push('nomaster');
      else if (op.master !== undefined) args.push('master', op.master);
      if (op.mtu !== undefined) args.push('mtu', String(op.mtu));
      if (op.address !== undefined) args.push('address', op.address);
      if (op.up !== undefined) args.push(op.up ? 'up' : 'down');
      if (op.hairpin !== undefined) args.push('type', 'bridge_slave', 'hairpin', op.hairpin ? 'on' : 'off');
      return args;
    }
    case 'link.move':
      return ['link', 'set', 'dev', op.name, 'netns', op.targetNs];
    case 'link.delete':
      return ['link', 'del', 'dev', op.name];
    case 'addr.add':
      return ['address', 'add', op.cidr, 'dev', op.dev];
    case 'addr.delete':
      return ['address', 'del', op.cidr, 'dev', op.dev];
    case 'route.add':
      return routeArgs('add', op.route);
    case 'route.replace':
      return routeArgs('replace', op.route);
    case 'route.delete':
      return routeArgs('del', op.route);
    case 'neigh.add':
    case 'neigh.replace': {
      const verb = op.kind === 'neigh.add' ? 'add' : 'replace';
      return ['neigh', verb, op.neigh.ip, 'lladdr', op.neigh.lladdr, 'dev', op.neigh.dev, 'nud', 'permanent'];
    }
    case 'neigh.delete':
      return ['neigh', 'del', op.neigh.ip, 'dev', op.neigh.dev];
    case 'sysctl.set':
      return undefined;
  }
}

/** The operation as a person would type it inside its namespace: `ip link set dev cni0 up`. */
export function describeOp(op: NetOp): string {
  if (op.kind === 'sysctl.set') return `sysctl -w ${op.key}=${op.value}`;
  return `ip ${(ipArgs(op) ?? []).join(' ')}`;
}
