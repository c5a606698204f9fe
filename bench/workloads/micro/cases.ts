/**
 * The hot TypeScript paths the micro and callgrind workloads measure, each with a fixed input built
 * once, so tinybench (time) and callgrind (instructions) run exactly the same operation:
 * - the iptables proxier's full-sync planning of 1000 Services x 10 endpoints (every rule and the
 *   restore text built anew: nothing reused from an earlier sync);
 * - the EndpointSlice cache and endpoints tracker folding one slice update and applying it, and the
 *   service tracker doing the same for one Service, with 1000 of each loaded;
 * - the udp overlay's packet functions (packet-core.ts) on a 1400-byte TCP packet against a
 *   100-node route table, both directions;
 * - the apiserver's in-memory Store.create and its dispatcher's whole create path (request bytes
 *   to stored object, no HTTP), one new Service per operation (bench/apiserver/hot-paths.ts), and
 *   a set-based label selector parsed and matched;
 * - the native addon's packet functions on batches of 64 such packets, when the addon is built:
 *   engineBench (native code only, per packet) and engineProcess (with N-API per packet).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { matchRequirements, parseLabelSelector } from '../../../dataplane/api/selectors.ts';
import type { EndpointSlice, Service } from '../../../dataplane/api/types.ts';
import { LABEL_SERVICE_NAME } from '../../../dataplane/api/types.ts';
import {
  OVERLAY_ADDON_PATH as NATIVE_ADDON_PATH,
  type OverlayAddon as NativeAddon,
} from '../../../dataplane/overlay/backends/udp/native-binding.ts';
import {
  localNode,
  processFromTun,
  processFromUdp,
} from '../../../dataplane/overlay/backends/udp/packet-core.ts';
import { RouteTable } from '../../../dataplane/overlay/backends/udp/route-table.ts';
import { EndpointsTracker } from '../../../dataplane/proxy/endpoints-tracker.ts';
import { EMPTY_REMAINDERS } from '../../../dataplane/proxy/iptables/foreign-rules.ts';
import { nodePortsTail } from '../../../dataplane/proxy/iptables/fixed-rules.ts';
import { planFullSync } from '../../../dataplane/proxy/iptables/full-sync.ts';
import {
  makeIptablesEndpoint,
  makeIptablesServicePort,
  type IptablesEndpoint,
  type IptablesServicePort,
} from '../../../dataplane/proxy/iptables/iptables-model.ts';
import { ProgrammedRules } from '../../../dataplane/proxy/iptables/programmed.ts';
import type { SyncState } from '../../../dataplane/proxy/proxier-contract.ts';
import { ServiceTracker } from '../../../dataplane/proxy/service-tracker.ts';
import { dispatcherCreateOp, storeCreateOp } from '../../apiserver/hot-paths.ts';

export interface HotPathCase {
  name: string;
  description: string;
  /**
   * Operations per callgrind run (and of its warm-up, as many): sized for seconds under valgrind,
   * and large enough that the warm-up gets the operation optimised; too few and the count includes
   * compiling it (label-selector-match read ~285k instructions/op at 100, for a ~2 µs operation).
   */
  callgrindOps: number;
  /** Operations one call of the prepared function performs (default 1): the figures are per operation. */
  opsPerCall?: number;
  /** Why it cannot run here (the native addon not built), or undefined. */
  unavailable?(): string | undefined;
  /**
   * Builds the fixed input; returns one operation. `nativeAddon`: where the addon is (a bundle's
   * import.meta.url is not the source's, so the callgrind bundle is told).
   */
  prepare(nativeAddon?: string): () => void;
}

const NODE = 'node-1';
const SERVICES = 1000;

function service(i: number, targetPort = 8080): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'default' },
    spec: {
      clusterIP: `10.96.${i >> 8}.${i & 255}`,
      selector: { app: `svc-${i}` },
      ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP' }],
    },
  };
}

function slice(i: number, firstHost = 1): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-a`, namespace: 'default', labels: { [LABEL_SERVICE_NAME]: `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: 10 }, (_, j) => ({
      addresses: [`10.${128 + (i >> 8)}.${i & 255}.${firstHost + j}`],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: j === 0 ? NODE : `node-${j + 1}`,
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function loadedTrackers() {
  const services = new ServiceTracker<IptablesServicePort>({ makeServicePort: makeIptablesServicePort });
  const endpoints = new EndpointsTracker<IptablesEndpoint>({
    nodeName: NODE,
    makeEndpoint: makeIptablesEndpoint,
    now: () => 0,
  });
  for (let i = 0; i < SERVICES; i++) {
    services.onServiceAdd(service(i));
    endpoints.onEndpointSliceAdd(slice(i));
  }
  return { services, endpoints, s: services.apply(), e: endpoints.apply() };
}

const iptablesFullSync: HotPathCase = {
  name: 'iptables-full-sync-1k',
  callgrindOps: 3,
  description: 'iptables full-sync planning and restore text, 1000 Services x 10 endpoints',
  prepare() {
    const { s, e } = loadedTrackers();
    const state: SyncState<IptablesServicePort, IptablesEndpoint> = {
      full: true,
      services: s.services,
      endpoints: e.endpoints,
      node: { name: NODE, labels: {}, addresses: ['198.18.0.1'], podCIDRs: ['10.244.1.0/24'] },
      updatedServices: new Set(),
      deletedServicePorts: [],
      deletedEndpoints: [],
      staleClusterIPs: [],
      staleEndpoints: [],
      staleServices: [],
      triggerTimes: new Map(),
    };
    const input = {
      state,
      ctx: {
        masqueradeMark: '0x4000',
        masqueradeAll: false,
        clusterCIDR: '10.128.0.0/9',
        largeCluster: true,
      },
      tail: nodePortsTail('all', ['198.18.0.1']),
      include: () => true,
    };
    return () => {
      const write = planFullSync(input, new ProgrammedRules(), EMPTY_REMAINDERS, []);
      if (!write.payload || write.payload.lines.nat < SERVICES * 10)
        throw new Error('full sync wrote too little');
    };
  },
};

const endpointsTracker: HotPathCase = {
  name: 'endpoints-tracker-update',
  callgrindOps: 200,
  description: 'one EndpointSlice update (one endpoint moved) folded and applied, 1000 slices loaded',
  prepare() {
    const { endpoints } = loadedTrackers();
    const versions = [slice(7, 1), slice(7, 101)];
    let n = 0;
    return () => {
      endpoints.onEndpointSliceUpdate(versions[n & 1]!, versions[++n & 1]!);
      if (endpoints.apply().updatedServices.size !== 1) throw new Error('the update was not applied');
    };
  },
};

const serviceTracker: HotPathCase = {
  name: 'service-tracker-update',
  callgrindOps: 2000,
  description: 'one Service update (its target port changed) folded and applied, 1000 Services loaded',
  prepare() {
    const { services } = loadedTrackers();
    const versions = [service(7, 8080), service(7, 8081)];
    let n = 0;
    return () => {
      services.onServiceUpdate(versions[n & 1]!, versions[++n & 1]!);
      if (services.apply().updatedServices.size !== 1) throw new Error('the update was not applied');
    };
  },
};

/** A 1400-byte IPv4/TCP packet from a local pod to a pod of node `node`, checksum valid. */
function tcpPacket(from: string, to: string): Buffer {
  const p = Buffer.alloc(1400);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(0x4000, 6);
  p[8] = 64;
  p[9] = 6;
  Buffer.from(from.split('.').map(Number)).copy(p, 12);
  Buffer.from(to.split('.').map(Number)).copy(p, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p.writeUInt16BE(~sum & 0xffff, 10);
  return p;
}

const OVERLAY_NODES = 100;
const routes = () =>
  Array.from({ length: OVERLAY_NODES }, (_, i) => ({
    subnet: `10.244.${i}.0/24`,
    nodeIp: `198.18.0.${i + 1}`,
  }));

const udpFromTun: HotPathCase = {
  name: 'udp-from-tun',
  callgrindOps: 20_000,
  description: 'udp overlay packet-core processFromTun: route lookup, TTL decrement (100 nodes)',
  prepare() {
    const table = RouteTable.from(routes());
    const local = localNode('10.244.1.0/24');
    const packet = tcpPacket('10.244.1.5', '10.244.57.9');
    return () => {
      if (processFromTun(packet, table, local).kind !== 'udp') throw new Error('the packet was not routed');
    };
  },
};

const udpFromUdp: HotPathCase = {
  name: 'udp-from-udp',
  callgrindOps: 20_000,
  description: 'udp overlay packet-core processFromUdp: peer check, inner destination (100 nodes)',
  prepare() {
    const table = RouteTable.from(routes());
    const local = localNode('10.244.1.0/24');
    const packet = tcpPacket('10.244.57.9', '10.244.1.5');
    return () => {
      if (processFromUdp('198.18.0.58', packet, table, local).kind !== 'tun') throw new Error('dropped');
    };
  },
};

const storeCreate: HotPathCase = {
  name: 'apiserver-store-create',
  callgrindOps: 5000,
  description: 'apiserver Store.create of a Service, in memory',
  prepare: storeCreateOp,
};

const dispatcherCreate: HotPathCase = {
  name: 'apiserver-dispatcher-create',
  callgrindOps: 1000,
  description:
    'apiserver create of a Service from request bytes (decode, strategy, allocation, store), no HTTP',
  prepare: dispatcherCreateOp,
};

const labelSelector: HotPathCase = {
  name: 'label-selector-match',
  callgrindOps: 20_000,
  description: 'a set-based label selector (4 terms) parsed and matched against 5 labels, as list filters do',
  prepare() {
    const labels = {
      app: 'web',
      tier: 'frontend',
      track: 'stable',
      'app.kubernetes.io/name': 'web',
      release: 'r12',
    };
    return () => {
      const selector = parseLabelSelector('app in (api,web),track notin (canary),!legacy,release');
      if (!matchRequirements(selector, labels)) throw new Error('expected a match');
    };
  },
};

const NATIVE_BATCH = 64;
/** Rounds of the batch per engineBench call: the call's argument handling is ~1% of it. */
const NATIVE_ROUNDS = 100;

function nativeUnavailable(fn: keyof NativeAddon): string | undefined {
  if (!existsSync(NATIVE_ADDON_PATH)) return `the native addon is not built (${NATIVE_ADDON_PATH})`;
  const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Partial<NativeAddon>;
  return typeof addon[fn] === 'function' ? undefined : `the native addon has no ${fn}`;
}

/** 64 full-size TCP packets read from the TUN, for a 100-node route table. */
function nativeInput() {
  return {
    direction: 'tun' as const,
    packets: Array.from({ length: NATIVE_BATCH }, () => ({ data: tcpPacket('10.244.1.5', '10.244.57.9') })),
    routes: routes(),
    localIp: '198.18.0.2',
    localSubnet: '10.244.1.0/24',
    mtu: 1472,
  };
}

/** The loop's work per packet, in native code only: what a change to the engine's packet path moves. */
const nativeEngineLoop: HotPathCase = {
  name: 'native-engine-loop',
  callgrindOps: 20,
  opsPerCall: NATIVE_ROUNDS * NATIVE_BATCH,
  description: `native packet functions per packet from the TUN (copy, route, TTL, checksum), ${NATIVE_ROUNDS} rounds of ${NATIVE_BATCH} per call, 100 nodes`,
  unavailable: () => nativeUnavailable('engineBench'),
  prepare(nativeAddon = NATIVE_ADDON_PATH) {
    const addon = createRequire(import.meta.url)(nativeAddon) as NativeAddon;
    const input = nativeInput();
    return () => {
      if (addon.engineBench(input, NATIVE_ROUNDS).forwarded !== NATIVE_ROUNDS * NATIVE_BATCH)
        throw new Error('engineBench lost packets');
    };
  },
};

/** engineProcess as the tests call it: the packet functions plus N-API for every packet in and out. */
const nativeEngineProcess: HotPathCase = {
  name: 'native-engine-process',
  callgrindOps: 300,
  opsPerCall: NATIVE_BATCH,
  description: `native addon engineProcess per packet (N-API in and out for each), ${NATIVE_BATCH} packets per call, 100 nodes`,
  unavailable: () => nativeUnavailable('engineProcess'),
  prepare(nativeAddon = NATIVE_ADDON_PATH) {
    const addon = createRequire(import.meta.url)(nativeAddon) as NativeAddon;
    const input = nativeInput();
    return () => {
      if (addon.engineProcess(input).length !== NATIVE_BATCH) throw new Error('engineProcess lost packets');
    };
  },
};

/** The TypeScript hot paths (micro and callgrind both) and the native one (callgrind only). */
export const TS_CASES: readonly HotPathCase[] = [
  iptablesFullSync,
  endpointsTracker,
  serviceTracker,
  udpFromTun,
  udpFromUdp,
  storeCreate,
  dispatcherCreate,
  labelSelector,
];
export const NATIVE_CASES: readonly HotPathCase[] = [nativeEngineLoop, nativeEngineProcess];

export function findCase(name: string): HotPathCase | undefined {
  return [...TS_CASES, ...NATIVE_CASES].find((c) => c.name === name);
}
