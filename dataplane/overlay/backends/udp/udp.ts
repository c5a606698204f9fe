/**
 * The udp backend, flannel's original overlay: a TUN device flannel0 in the node namespace and an
 * engine that wraps every packet the kernel routes into it in a UDP datagram to the owning node's
 * port 8285, and unwraps what arrives. 'udp' runs the native engine (options.engine 'batched', the
 * default, or 'baseline', flannel's own one-packet-per-poll() loop); 'udp-ts' runs the same
 * semantics in TypeScript. The backend owns the policy the engines do not: the MTU (uplink - 28),
 * flannel0's address and state, which peers become routes, and a clean start after a crash.
 */
import { KdpError } from '../../../errors.ts';
import { cidrToUint32, cidrsOverlap, isIpv4, prefixMask, uint32ToIpv4 } from '../../../kernel/cidr.ts';
import { NetworkPlan } from '../../../kernel/network-plan.ts';
import type { OverlayBackend, OverlayContext, OverlayNode } from '../../backend.ts';
import type { EngineOptions, EngineRoute, NativeEngineMode, OverlayEngine } from './engine.ts';
import { createNativeEngine } from './native-engine.ts';
import { createTypeScriptEngine } from './ts-engine.ts';

export const UDP_TUN_NAME = 'flannel0';
export const UDP_PORT = 8285;
/** An IPv4 header and a UDP header: what each datagram adds around the inner packet. */
export const UDP_OVERHEAD = 28;
/** The backend type nodes publish (flannel.alpha.coreos.com/backend-type) for udp and udp-ts. */
const BACKEND_TYPE = 'udp';

export type EngineFactory = (options: EngineOptions) => OverlayEngine | Promise<OverlayEngine>;

/** The native engine as options.engine and options.offload ('true' | 'false') ask for it. */
function nativeEngineFactory(ctx: OverlayContext): EngineFactory {
  const { engine = 'batched', offload } = ctx.options ?? {};
  if (engine !== 'batched' && engine !== 'baseline') {
    throw new KdpError(
      'KDP_ERR_OVERLAY_OPTION',
      `udp: engine "${engine}" is not one of batched, baseline (udp-ts is the TypeScript engine)`,
    );
  }
  if (offload !== undefined && offload !== 'true' && offload !== 'false') {
    throw new KdpError('KDP_ERR_OVERLAY_OPTION', `udp: offload must be true or false, not "${offload}"`);
  }
  const mode: NativeEngineMode = engine;
  return (options) =>
    createNativeEngine({
      ...options,
      mode,
      ...(offload === undefined ? {} : { offload: offload === 'true' }),
    });
}

export function createUdpBackend(ctx: OverlayContext, engineFactory?: EngineFactory): OverlayBackend {
  return udpBackend('udp', ctx, engineFactory ?? nativeEngineFactory(ctx));
}

export function createUdpTsBackend(ctx: OverlayContext, engineFactory?: EngineFactory): OverlayBackend {
  if (ctx.options?.engine !== undefined && ctx.options.engine !== 'typescript') {
    throw new KdpError(
      'KDP_ERR_OVERLAY_OPTION',
      `udp-ts: engine options are for udp; udp-ts always runs TypeScript`,
    );
  }
  return udpBackend('udp-ts', ctx, engineFactory ?? createTypeScriptEngine);
}

/** flannel0's address: the local subnet's network address with the cluster's prefix (10.244.1.0/16). */
export function tunAddress(localSubnet: string, clusterCidr: string): string {
  const subnet = cidrToUint32(localSubnet);
  const cluster = cidrToUint32(clusterCidr);
  if (
    !subnet ||
    !cluster ||
    cluster.prefix > subnet.prefix ||
    (subnet.network & prefixMask(cluster.prefix)) >>> 0 !== cluster.network
  ) {
    throw new KdpError(
      'KDP_ERR_OVERLAY_CONFIG',
      `udp: the node's pod subnet ${localSubnet} is not inside the cluster network ${clusterCidr}`,
    );
  }
  return `${uint32ToIpv4(subnet.network)}/${cluster.prefix}`;
}

/**
 * The engine's routes for `peers`: each peer's pod subnet to its underlay address. Peers of
 * another backend type (flannel ignores leases of other backends), peers whose subnet is not an
 * IPv4 CIDR or overlaps ours or an earlier peer's are left out, with the reason.
 */
export function engineRoutes(
  local: OverlayNode,
  peers: readonly OverlayNode[],
): { routes: EngineRoute[]; skipped: { peer: OverlayNode; reason: string }[] } {
  const routes: EngineRoute[] = [];
  const skipped: { peer: OverlayNode; reason: string }[] = [];
  const sorted = [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const peer of sorted) {
    if (peer.backendType !== undefined && peer.backendType !== BACKEND_TYPE) {
      skipped.push({ peer, reason: `it runs the ${peer.backendType} backend, not udp` });
    } else if (!cidrToUint32(peer.podCidr) || !isIpv4(peer.underlayIp)) {
      skipped.push({ peer, reason: `lease ${peer.podCidr} at ${peer.underlayIp} is not IPv4` });
    } else if (cidrsOverlap(peer.podCidr, local.podCidr)) {
      skipped.push({ peer, reason: `pod CIDR ${peer.podCidr} overlaps this node's ${local.podCidr}` });
    } else if (routes.some((r) => cidrsOverlap(r.subnet, peer.podCidr))) {
      skipped.push({ peer, reason: `pod CIDR ${peer.podCidr} overlaps another node's` });
    } else {
      routes.push({ subnet: peer.podCidr, nodeIp: peer.underlayIp });
    }
  }
  return { routes, skipped };
}

function udpBackend(name: string, ctx: OverlayContext, engineFactory: EngineFactory): OverlayBackend {
  const { kernel, netns, uplink, log } = ctx;
  let local: OverlayNode | undefined;
  let engine: OverlayEngine | undefined;
  let closing: Promise<void> | undefined;
  /** The reason last logged per skipped peer, so each is logged once, not on every sync. */
  const warned = new Map<string, string>();

  return {
    name,

    async start(node, signal) {
      if (engine) throw new KdpError('KDP_ERR_OVERLAY_STARTED', `${name}: start called twice`);
      const links = await kernel.links.list(netns);
      const up = links.find((l) => l.name === uplink);
      if (!up) {
        throw new KdpError(
          'KDP_ERR_OVERLAY_NO_UPLINK',
          `${name}: namespace ${netns} has no ${uplink}; the node's underlay must be configured first`,
        );
      }
      const mtu = up.mtu - UDP_OVERHEAD;
      const address = tunAddress(node.podCidr, ctx.clusterCidr);
      if (links.some((l) => l.name === UDP_TUN_NAME)) {
        // A TUN goes away with the process that opened it; one still here belongs to an agent that
        // has not quite exited, or is persistent. Either way it holds the name the engine needs.
        log('warn', `${name}: removing the ${UDP_TUN_NAME} a previous agent left behind`);
        await kernel.links.delete(netns, UDP_TUN_NAME);
      }
      const started = await engineFactory({
        tunName: UDP_TUN_NAME,
        localIp: node.underlayIp,
        port: UDP_PORT,
        mtu,
        localSubnet: node.podCidr,
      });
      try {
        // As flannel configures flannel0: the whole cluster network routes into the TUN, while
        // cni0's more specific /24 keeps this node's own pods local. The ICMP errors the engine
        // writes into the TUN come from cni0's address, which the kernel drops as a martian
        // (a local source arriving from outside) unless the TUN may accept local sources. The
        // overlay is IPv4: without IPv6 on the TUN, the kernel sends no router solicitations or
        // MLD reports into it, which the engine would count as malformed drops.
        const plan = new NetworkPlan()
          .setSysctl(netns, `net.ipv4.conf.${UDP_TUN_NAME}.accept_local`, '1')
          .setSysctl(netns, `net.ipv6.conf.${UDP_TUN_NAME}.disable_ipv6`, '1')
          .setLink(netns, UDP_TUN_NAME, { mtu, up: true })
          .addAddress(netns, UDP_TUN_NAME, address);
        await kernel.ops.apply(plan, { signal });
      } catch (e) {
        await started.close();
        throw e;
      }
      engine = started;
      local = node;
      log('info', `${name}: ${UDP_TUN_NAME} up`, { engine: started.kind, address, mtu, port: UDP_PORT });
      return { backendData: null, podMtu: mtu };
    },

    async sync(peers) {
      if (!engine || !local) throw new KdpError('KDP_ERR_OVERLAY_NOT_STARTED', `${name}: sync before start`);
      const { routes, skipped } = engineRoutes(local, peers);
      for (const s of skipped) {
        if (warned.get(s.peer.name) === s.reason) continue;
        warned.set(s.peer.name, s.reason);
        log('warn', `${name}: node ${s.peer.name} is not reachable over udp: ${s.reason}`);
      }
      for (const peer of warned.keys()) if (!skipped.some((s) => s.peer.name === peer)) warned.delete(peer);
      engine.setRoutes(routes);
    },

    counters() {
      if (!engine) return {};
      const { drops, batchSizes, ...totals } = engine.counters();
      const flat: Record<string, number> = { ...totals };
      for (const [reason, n] of Object.entries(drops)) flat[`drops.${reason}`] = n;
      for (const [bucket, n] of Object.entries(batchSizes)) flat[`batchSizes.${bucket}`] = n;
      return flat;
    },

    close() {
      closing ??= (async () => {
        await engine?.close();
      })();
      return closing;
    },
  };
}
