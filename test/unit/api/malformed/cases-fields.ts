/**
 * Finding 5, fields: bad values and types in the fields of each served kind (commands, ports,
 * protocols, CIDRs, addresses that would become DNAT targets, externalIPs that would capture a
 * cluster IP, selectors, replica counts), unknown fields under Strict for every kind, and bad
 * fieldValidation values. Each is refused and nothing is stored.
 */
import type { MalformedCase } from './case.ts';
import { SERVED_KINDS, type ServedKind } from './kinds.ts';

const byKind = new Map(SERVED_KINDS.map((k) => [k.kind, k]));
const kind = (name: string): ServedKind => byKind.get(name)!;

interface FieldCase {
  kind: string;
  what: string;
  /** Changes a valid object in place. */
  change(o: Record<string, any>): void;
  status: 400 | 422;
}

const container = (o: Record<string, any>) => (o.spec.template?.spec ?? o.spec).containers[0];

const FIELD_CASES: FieldCase[] = [
  // Pods and pod templates.
  { kind: 'Pod', what: 'a string command', change: (o) => (container(o).command = 'sh -c id'), status: 400 },
  { kind: 'Pod', what: 'numbers in args', change: (o) => (container(o).args = ['-n', 5]), status: 400 },
  {
    kind: 'Pod',
    what: 'an env value as a number',
    change: (o) => (container(o).env = [{ name: 'A', value: 1 }]),
    status: 400,
  },
  { kind: 'Pod', what: 'hostNetwork "yes"', change: (o) => (o.spec.hostNetwork = 'yes'), status: 400 },
  {
    kind: 'Pod',
    what: 'containerPort 70000',
    change: (o) => (container(o).ports = [{ containerPort: 70000 }]),
    status: 422,
  },
  {
    kind: 'Pod',
    what: 'containerPort as a string',
    change: (o) => (container(o).ports = [{ containerPort: '80' }]),
    status: 400,
  },
  {
    kind: 'Pod',
    what: 'protocol ICMP',
    change: (o) => (container(o).ports = [{ containerPort: 80, protocol: 'ICMP' }]),
    status: 422,
  },
  {
    kind: 'Pod',
    what: 'containers as an object',
    change: (o) => (o.spec.containers = { name: 'c' }),
    status: 400,
  },
  { kind: 'Pod', what: 'no containers', change: (o) => (o.spec.containers = []), status: 422 },
  {
    kind: 'Pod',
    what: 'restartPolicy Sometimes',
    change: (o) => (o.spec.restartPolicy = 'Sometimes'),
    status: 422,
  },
  {
    kind: 'Pod',
    what: 'a readinessProbe port as a list',
    change: (o) => (container(o).readinessProbe = { tcpSocket: { port: [80] } }),
    status: 400,
  },
  {
    kind: 'Pod',
    what: 'probe periodSeconds as a string',
    change: (o) => (container(o).livenessProbe = { exec: { command: ['true'] }, periodSeconds: '5' }),
    status: 400,
  },
  {
    kind: 'Pod',
    what: 'resources.limits as a list',
    change: (o) => (container(o).resources = { limits: ['1'] }),
    status: 400,
  },
  {
    kind: 'Pod',
    what: 'a toleration with a bad operator',
    change: (o) => (o.spec.tolerations = [{ key: 'k', operator: 'Maybe' }]),
    status: 422,
  },
  { kind: 'Pod', what: 'nodeName with a slash', change: (o) => (o.spec.nodeName = 'a/b'), status: 422 },
  {
    kind: 'Pod',
    what: 'terminationGracePeriodSeconds -1',
    change: (o) => (o.spec.terminationGracePeriodSeconds = -1),
    status: 422,
  },
  {
    kind: 'Deployment',
    what: 'a string command in the template',
    change: (o) => (container(o).command = 'sh'),
    status: 400,
  },
  { kind: 'Deployment', what: 'replicas "2"', change: (o) => (o.spec.replicas = '2'), status: 400 },
  { kind: 'Deployment', what: 'replicas -1', change: (o) => (o.spec.replicas = -1), status: 422 },
  {
    kind: 'Deployment',
    what: 'a selector that does not match the template',
    change: (o) => (o.spec.selector = { matchLabels: { app: 'other' } }),
    status: 422,
  },
  { kind: 'Deployment', what: 'an empty selector', change: (o) => (o.spec.selector = {}), status: 422 },
  {
    kind: 'Deployment',
    what: 'strategy type Sudden',
    change: (o) => (o.spec.strategy = { type: 'Sudden' }),
    status: 422,
  },
  {
    kind: 'Deployment',
    what: 'maxSurge as a list',
    change: (o) => (o.spec.strategy = { rollingUpdate: { maxSurge: [1] } }),
    status: 400,
  },
  {
    kind: 'ReplicaSet',
    what: 'a selector operator Near',
    change: (o) => (o.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Near' }] }),
    status: 422,
  },
  { kind: 'ReplicaSet', what: 'replicas 1.5', change: (o) => (o.spec.replicas = 1.5), status: 400 },
  // Services.
  {
    kind: 'Service',
    what: 'loadBalancerSourceRanges 10.0.0.0/33',
    change: (o) => Object.assign(o.spec, { type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'] }),
    status: 422,
  },
  {
    kind: 'Service',
    what: "an externalIP inside the service CIDR (another Service's ClusterIP)",
    change: (o) => (o.spec.externalIPs = ['10.96.0.1']),
    status: 422,
  },
  {
    kind: 'Service',
    what: 'externalIP 127.0.0.1',
    change: (o) => (o.spec.externalIPs = ['127.0.0.1']),
    status: 422,
  },
  {
    kind: 'Service',
    what: 'externalIP 0.0.0.0',
    change: (o) => (o.spec.externalIPs = ['0.0.0.0']),
    status: 422,
  },
  {
    kind: 'Service',
    what: 'externalIP 224.0.0.1',
    change: (o) => (o.spec.externalIPs = ['224.0.0.1']),
    status: 422,
  },
  {
    kind: 'Service',
    what: 'externalIPs as a string',
    change: (o) => (o.spec.externalIPs = '192.0.2.1'),
    status: 400,
  },
  { kind: 'Service', what: 'port 0', change: (o) => (o.spec.ports = [{ port: 0 }]), status: 422 },
  { kind: 'Service', what: 'port "80"', change: (o) => (o.spec.ports = [{ port: '80' }]), status: 400 },
  {
    kind: 'Service',
    what: 'targetPort as a list',
    change: (o) => (o.spec.ports = [{ port: 80, targetPort: [80] }]),
    status: 400,
  },
  {
    kind: 'Service',
    what: 'protocol ICMP',
    change: (o) => (o.spec.ports = [{ port: 80, protocol: 'ICMP' }]),
    status: 422,
  },
  { kind: 'Service', what: 'type Internal', change: (o) => (o.spec.type = 'Internal'), status: 422 },
  {
    kind: 'Service',
    what: 'clusterIP not an address',
    change: (o) => (o.spec.clusterIP = '10.96.0.300'),
    status: 422,
  },
  {
    kind: 'Service',
    what: 'sessionAffinity Sticky',
    change: (o) => (o.spec.sessionAffinity = 'Sticky'),
    status: 422,
  },
  {
    kind: 'Service',
    what: 'a selector value as a number',
    change: (o) => (o.spec.selector = { app: 1 }),
    status: 400,
  },
  // Endpoints and EndpointSlices: addresses a proxy would DNAT to.
  ...[
    '0.0.0.0',
    '127.0.0.1',
    '224.0.0.1',
    '169.254.169.254',
    '239.255.255.250',
    '255.255.255.255',
    '10.0.0.256',
  ].map((ip): FieldCase => ({
    kind: 'EndpointSlice',
    what: `address ${ip}`,
    change: (o) => (o.endpoints = [{ addresses: [ip] }]),
    status: 422,
  })),
  ...['::', '::1', 'fe80::1', 'ff02::1'].map((ip): FieldCase => ({
    kind: 'EndpointSlice',
    what: `IPv6 address ${ip}`,
    change: (o) => Object.assign(o, { addressType: 'IPv6', endpoints: [{ addresses: [ip] }] }),
    status: 422,
  })),
  { kind: 'EndpointSlice', what: 'addressType IPv5', change: (o) => (o.addressType = 'IPv5'), status: 422 },
  {
    kind: 'EndpointSlice',
    what: 'an IPv6 address in an IPv4 slice',
    change: (o) => (o.endpoints = [{ addresses: ['fd00::1'] }]),
    status: 422,
  },
  {
    kind: 'EndpointSlice',
    what: 'conditions.ready "yes"',
    change: (o) => (o.endpoints = [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }]),
    status: 400,
  },
  { kind: 'EndpointSlice', what: 'port 70000', change: (o) => (o.ports = [{ port: 70000 }]), status: 422 },
  ...['0.0.0.0', '127.0.0.1', '224.0.0.1', '169.254.1.1'].map((ip): FieldCase => ({
    kind: 'Endpoints',
    what: `address ${ip}`,
    change: (o) => (o.subsets[0].addresses = [{ ip }]),
    status: 422,
  })),
  {
    kind: 'Endpoints',
    what: 'subsets as an object',
    change: (o) => (o.subsets = { addresses: [] }),
    status: 400,
  },
  // Nodes, Namespaces and Events.
  {
    kind: 'Node',
    what: 'podCIDR 10.0.0.0/33',
    change: (o) => (o.spec = { podCIDR: '10.0.0.0/33', podCIDRs: ['10.0.0.0/33'] }),
    status: 422,
  },
  {
    kind: 'Node',
    what: 'unschedulable "no"',
    change: (o) => (o.spec = { unschedulable: 'no' }),
    status: 400,
  },
  {
    kind: 'Node',
    what: 'a taint without an effect',
    change: (o) => (o.spec = { taints: [{ key: 'k' }] }),
    status: 422,
  },
  {
    kind: 'Namespace',
    what: 'spec.finalizers as a string',
    change: (o) => (o.spec = { finalizers: 'kubernetes' }),
    status: 400,
  },
  { kind: 'Event', what: 'no involvedObject', change: (o) => delete o.involvedObject, status: 422 },
  { kind: 'Event', what: 'count as a string', change: (o) => (o.count = 'many'), status: 400 },
  // Unknown fields under Strict, one per kind.
  ...SERVED_KINDS.map((k): FieldCase => ({
    kind: k.kind,
    what: 'an unknown top-level field under Strict',
    change: (o) => (o.bogus = 1),
    status: 400,
  })),
];

export const cases: MalformedCase[] = [
  ...FIELD_CASES.map((c, i): MalformedCase => {
    const k = kind(c.kind);
    const name = `field-${c.kind.toLowerCase()}-${i}`;
    const body = k.valid(name);
    c.change(body);
    return {
      name: `finding 5: ${c.kind} with ${c.what}`,
      method: 'POST',
      path: `${k.collection}?fieldValidation=Strict`,
      body,
      status: c.status,
      reason: c.status === 400 ? 'BadRequest' : 'Invalid',
      notStored: `${k.collection}/${name}`,
    };
  }),
  ...['strict', 'Yes', '1'].flatMap((fv) =>
    SERVED_KINDS.slice(2, 4).map((k): MalformedCase => {
      const name = `fv-${k.kind.toLowerCase()}-${fv.toLowerCase()}`;
      return {
        name: `finding 5: ${k.kind} create with fieldValidation=${fv}`,
        method: 'POST',
        path: `${k.collection}?fieldValidation=${fv}`,
        body: k.valid(name),
        status: 400,
        reason: 'BadRequest',
        notStored: `${k.collection}/${name}`,
      };
    }),
  ),
];
