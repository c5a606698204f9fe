// A pod's resolv.conf per dnsPolicy and dnsConfig, as a kubelet writes it (resolv-conf.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, PodSpec } from '../../../dataplane/api/types.ts';
import { parseResolvConf, podResolvConf } from '../../../dataplane/agent/workloads/resolv-conf.ts';

const HOST = '# the host\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0\n';
const DNS = { nameserver: '10.96.0.10', domain: 'cluster.local' };
const pod = (spec: Partial<PodSpec> = {}, namespace = 'web'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace },
  spec: { containers: [], ...spec },
});

test('ClusterFirst (the default): the cluster nameserver, the namespace search path, ndots:5', () => {
  const want =
    'search web.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';
  assert.equal(podResolvConf(pod(), DNS, HOST), want);
  assert.equal(podResolvConf(pod({ dnsPolicy: 'ClusterFirst' }), DNS, HOST), want);
  assert.match(
    podResolvConf(pod({}, 'other'), { nameserver: '10.100.0.10', domain: 'kdp.test' }, HOST)!,
    /^search other\.svc\.kdp\.test svc\.kdp\.test kdp\.test\nnameserver 10\.100\.0\.10\n/,
  );
});

test('Default is the host file as it is; hostNetwork ClusterFirst too; WithHostNet keeps the cluster', () => {
  assert.equal(podResolvConf(pod({ dnsPolicy: 'Default' }), DNS, HOST), undefined);
  assert.equal(podResolvConf(pod({ hostNetwork: true }), DNS, HOST), undefined);
  assert.match(
    podResolvConf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), DNS, HOST)!,
    /nameserver 10\.96\.0\.10/,
  );
});

test('without a cluster DNS, ClusterFirst falls back to the host file', () => {
  assert.equal(podResolvConf(pod(), {}, HOST), undefined);
});

test('None is dnsConfig only; dnsConfig merges into ClusterFirst and Default', () => {
  const dnsConfig = {
    nameservers: ['10.96.0.10', '1.1.1.1'],
    searches: ['svc.cluster.local', 'extra.test'],
    options: [{ name: 'ndots', value: '2' }, { name: 'single-request' }],
  };
  assert.equal(
    podResolvConf(pod({ dnsPolicy: 'None', dnsConfig }), DNS, HOST),
    'search svc.cluster.local extra.test\nnameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:2 single-request\n',
  );
  assert.equal(
    podResolvConf(pod({ dnsConfig }), DNS, HOST),
    'search web.svc.cluster.local svc.cluster.local cluster.local extra.test\nnameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:2 single-request\n',
  );
  assert.equal(
    podResolvConf(
      pod({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] } }),
      DNS,
      HOST,
    ),
    'search corp.example\nnameserver 192.0.2.53\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions edns0\n',
  );
});

test('the host file is parsed: comments, domain as search, options with values', () => {
  assert.deepEqual(parseResolvConf('domain a.test ; x\nnameserver 10.0.0.1 # y\noptions ndots:3 rotate\n'), {
    nameservers: ['10.0.0.1'],
    searches: ['a.test'],
    options: [{ name: 'ndots', value: '3' }, { name: 'rotate' }],
  });
});
