// Subnet leases as flannel's kube subnet manager keeps them: the annotations an agent publishes,
// leases parsed back from Nodes (public-ip over InternalIP, malformed annotations ignored with a
// reason), what counts as a lease change, and subnet.env as flanneld writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../../../dataplane/api/types.ts';
import {
  flannelBackendType,
  leaseAnnotations,
  leaseChanged,
  missingAnnotations,
  parseLease,
} from '../../../dataplane/overlay/leases.ts';
import { subnetEnvText, writeSubnetEnv } from '../../../dataplane/overlay/subnet-env.ts';

function node(annotations: Record<string, string> = {}, podCIDR = '10.244.1.0/24'): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-2', annotations },
    spec: { podCIDR, podCIDRs: [podCIDR] },
    status: { addresses: [{ type: 'InternalIP', address: '198.18.0.2' }] },
  } as Node;
}

test('an agent publishes flannel’s annotations, backend type in flannel’s spelling, data as JSON', () => {
  assert.deepEqual(
    leaseAnnotations({
      underlayIp: '198.18.0.2',
      backend: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:00' },
      underlayMac: '0a:58:c6:12:00:02',
    }),
    {
      'flannel.alpha.coreos.com/public-ip': '198.18.0.2',
      'flannel.alpha.coreos.com/backend-type': 'vxlan',
      'flannel.alpha.coreos.com/backend-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:01:00"}',
      'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
      'kdp.dev/underlay-mac': '0a:58:c6:12:00:02',
    },
  );
  const hostGw = leaseAnnotations({ underlayIp: '198.18.0.2', backend: 'host-gw', backendData: null });
  assert.equal(hostGw['flannel.alpha.coreos.com/backend-data'], 'null');
  assert.equal(flannelBackendType('udp-ts'), 'udp');
  assert.equal(flannelBackendType('udp'), 'udp');
  assert.deepEqual(
    missingAnnotations(node({ 'flannel.alpha.coreos.com/public-ip': '198.18.0.2' }), {
      'flannel.alpha.coreos.com/public-ip': '198.18.0.2',
      'flannel.alpha.coreos.com/backend-type': 'vxlan',
    }),
    { 'flannel.alpha.coreos.com/backend-type': 'vxlan' },
    'only what differs is patched',
  );
});

test('a lease from a Node: public-ip preferred, backend type and data parsed', () => {
  const { lease, ignored } = parseLease(
    node({
      'flannel.alpha.coreos.com/public-ip': '192.0.2.7',
      'flannel.alpha.coreos.com/backend-type': 'vxlan',
      'flannel.alpha.coreos.com/backend-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:01:00"}',
      'kdp.dev/underlay-mac': '0A:58:C6:12:00:02',
    }),
  );
  assert.deepEqual(ignored, []);
  assert.deepEqual(lease, {
    name: 'node-2',
    podCidr: '10.244.1.0/24',
    underlayIp: '192.0.2.7',
    underlayMac: '0a:58:c6:12:00:02',
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:00' },
  });
  assert.deepEqual(parseLease(node()).lease, {
    name: 'node-2',
    podCidr: '10.244.1.0/24',
    underlayIp: '198.18.0.2',
  });
});

test('malformed annotations are ignored with a reason; the rest of the lease stands', () => {
  const { lease, ignored } = parseLease(
    node({
      'flannel.alpha.coreos.com/public-ip': 'not-an-ip',
      'flannel.alpha.coreos.com/backend-type': 'Vx LAN',
      'flannel.alpha.coreos.com/backend-data': '{"VNI":',
      'kdp.dev/underlay-mac': 'ff:ff:ff:ff:ff:ff',
    }),
  );
  assert.deepEqual(lease, { name: 'node-2', podCidr: '10.244.1.0/24', underlayIp: '198.18.0.2' });
  assert.equal(ignored.length, 4);
  assert.match(ignored.join('\n'), /public-ip "not-an-ip" is not an IPv4 address/);
  assert.match(ignored.join('\n'), /backend-data is not JSON/);
  const noCidr = parseLease({ ...node(), spec: {} } as Node);
  assert.equal(noCidr.lease, undefined, 'no pod CIDR yet: no lease');
  const badCidr = parseLease(node({}, '10.244.1.7'));
  assert.equal(badCidr.lease, undefined);
  assert.match(badCidr.ignored[0], /not an IPv4 CIDR/);
});

test('a lease changes with its backend data or address, not with anything else on the Node', () => {
  const a = parseLease(
    node({ 'flannel.alpha.coreos.com/backend-data': '{"VtepMAC":"0a:58:0a:f4:01:00"}' }),
  ).lease;
  const same = parseLease(
    node({ 'flannel.alpha.coreos.com/backend-data': '{"VtepMAC":"0a:58:0a:f4:01:00"}', other: 'x' }),
  ).lease;
  const data = parseLease(
    node({ 'flannel.alpha.coreos.com/backend-data': '{"VtepMAC":"0a:58:0a:f4:01:01"}' }),
  ).lease;
  const ip = parseLease(node({ 'flannel.alpha.coreos.com/public-ip': '198.18.0.9' })).lease;
  assert.equal(leaseChanged(a, same), false);
  assert.equal(leaseChanged(a, data), true);
  assert.equal(leaseChanged(parseLease(node()).lease, ip), true);
  assert.equal(leaseChanged(a, undefined), true);
});

test('subnet.env as flanneld writes it, replaced atomically', async () => {
  const env = { clusterCidr: '10.244.0.0/16', podCidr: '10.244.1.0/24', mtu: 1450 };
  assert.equal(
    subnetEnvText(env),
    'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
  );
  const dir = await mkdtemp(join(tmpdir(), 'kdp-subnet-env-'));
  try {
    const path = join(dir, 'subnet.env');
    await writeSubnetEnv(path, env);
    await writeSubnetEnv(path, { ...env, mtu: 1500 });
    assert.match(await readFile(path, 'utf8'), /^FLANNEL_MTU=1500$/m);
    assert.deepEqual(await readdir(dir), ['subnet.env'], 'no temporary file left behind');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
