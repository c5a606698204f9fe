/**
 * One namespace of the fake kernel: its links, addresses, routes, permanent neighbours, FDB entries
 * and sysctls. Plain state, apart from FakeState (which validates and applies operations) so that
 * the facility files (fake-vxlan.ts) can use it without importing FakeState back.
 */
import type { AddressInfo, FdbInfo, NeighbourInfo, RouteInfo, VxlanInfo } from '../types.ts';
import { FakeSysctls } from './fake-sysctls.ts';

export interface FakeLink {
  name: string;
  kind: 'veth' | 'bridge' | 'vxlan' | 'loopback';
  mtu: number;
  up: boolean;
  master?: string;
  /** MAC address; the fake hands out 02:00:00:xx:xx:xx in order, as the kernel hands out random ones. */
  address: string;
  /** The MAC was set explicitly (a bridge then keeps it whatever its ports are). */
  addressSet?: boolean;
  /** Hairpin mode, for a bridge port. */
  hairpin?: boolean;
  /** The other end of a veth, wherever it lives. */
  peer?: { ns: string; name: string };
  vxlan?: VxlanInfo;
}

export class FakeNamespace {
  readonly links = new Map<string, FakeLink>();
  readonly addresses: AddressInfo[] = [];
  /** Routes added by operations; connected routes are derived from addresses (see routesOf). */
  readonly routes: RouteInfo[] = [];
  /** Permanent entries only: the fake has no traffic to resolve dynamic ones. */
  readonly neighbours: NeighbourInfo[] = [];
  /** Static entries of vxlan links (fake-vxlan.ts). */
  readonly fdb: FdbInfo[] = [];
  readonly sysctls: FakeSysctls;

  constructor(
    readonly name: string,
    extraSysctls: Readonly<Record<string, string>>,
  ) {
    this.links.set('lo', {
      name: 'lo',
      kind: 'loopback',
      mtu: 65536,
      up: false,
      address: '00:00:00:00:00:00',
    });
    this.sysctls = new FakeSysctls(extraSysctls);
    this.sysctls.addLink('lo');
  }
}
