/**
 * iproute2's JSON output (`ip -j ...`, `bridge -j ...`) as the kernel layer's LinkInfo, AddressInfo,
 * RouteInfo, NeighbourInfo and FdbInfo.
 * Only the fields kdp uses are read; anything else in iproute2's output is ignored, so newer
 * iproute2 versions that add fields keep working.
 */
import {
  RT_TABLE,
  type AddressInfo,
  type FdbInfo,
  type LinkInfo,
  type NeighbourInfo,
  type RouteInfo,
} from '../types.ts';

interface IpLink {
  ifname: string;
  mtu: number;
  flags?: string[];
  master?: string;
  address?: string;
  link_type?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean };
  };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  table?: string | number;
  metric?: number;
  protocol?: string;
  scope?: string;
  flags?: string[];
}

interface IpNeigh {
  dst: string;
  /** Left out when the listing was of one device. */
  dev?: string;
  lladdr?: string;
  state?: string[];
}

function parseJsonArray<T>(text: string, what: string): T[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const value: unknown = JSON.parse(trimmed);
  if (!Array.isArray(value)) throw new TypeError(`ip -j ${what}: expected a JSON array`);
  return value as T[];
}

export function parseLinks(json: string): LinkInfo[] {
  return parseJsonArray<IpLink>(json, 'link show').map((l) => {
    const link: LinkInfo = {
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? (l.link_type === 'loopback' ? 'loopback' : 'device'),
      mtu: l.mtu,
      up: (l.flags ?? []).includes('UP'),
    };
    if (l.master) link.master = l.master;
    if (l.address) link.address = l.address;
    const data = l.linkinfo?.info_data;
    if (link.kind === 'vxlan' && data?.id !== undefined) {
      link.vxlan = { vni: data.id, port: data.port ?? 0, learning: data.learning ?? true };
      if (data.local) link.vxlan.local = data.local;
      if (data.link) link.vxlan.dev = data.link;
    }
    return link;
  });
}

export function parseAddresses(json: string): AddressInfo[] {
  return parseJsonArray<IpLink>(json, 'address show').flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => ({ dev: l.ifname, cidr: `${a.local}/${a.prefixlen}` })),
  );
}

export function tableNumber(table: string | number | undefined, fallback: number): number {
  if (table === undefined) return fallback;
  if (typeof table === 'number') return table;
  if (table in RT_TABLE) return RT_TABLE[table as keyof typeof RT_TABLE];
  const n = Number(table);
  return Number.isInteger(n) ? n : fallback;
}

/** `table` is the table that was listed; iproute2 omits the field for routes of that table. */
export function parseRoutes(json: string, table: number = RT_TABLE.main): RouteInfo[] {
  return parseJsonArray<IpRoute>(json, 'route show').map((r) => {
    const route: RouteInfo = { dst: r.dst, table: tableNumber(r.table, table), type: r.type ?? 'unicast' };
    if (r.gateway) route.via = r.gateway;
    if (r.dev) route.dev = r.dev;
    if (r.prefsrc) route.src = r.prefsrc;
    if (r.metric !== undefined) route.metric = r.metric;
    if (r.protocol) route.protocol = r.protocol;
    if (r.scope) route.scope = r.scope;
    if ((r.flags ?? []).includes('onlink')) route.onlink = true;
    return route;
  });
}

/** `dev` is the device that was listed, if one was; iproute2 omits the field then. */
export function parseNeighbours(json: string, dev?: string): NeighbourInfo[] {
  return parseJsonArray<IpNeigh>(json, 'neigh show').map((n) => {
    const neigh: NeighbourInfo = {
      ip: n.dst,
      dev: n.dev ?? dev ?? '',
      state: (n.state ?? []).join(' ').toLowerCase(),
    };
    if (n.lladdr) neigh.lladdr = n.lladdr;
    return neigh;
  });
}

interface BridgeFdb {
  mac: string;
  /** Left out when the listing was of one device. */
  ifname?: string;
  dst?: string;
  state?: string;
}

/** `bridge -j fdb show [dev D]`; `dev` is the device listed, which bridge then leaves out. */
export function parseFdb(json: string, dev?: string): FdbInfo[] {
  return parseJsonArray<BridgeFdb>(json, 'fdb show').map((f) => {
    const entry: FdbInfo = {
      dev: f.ifname ?? dev ?? '',
      lladdr: f.mac,
      state: (f.state ?? '').toLowerCase(),
    };
    if (f.dst) entry.dst = f.dst;
    return entry;
  });
}
