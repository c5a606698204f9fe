import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servicePortsOf } from '../../../dataplane/proxy/service-model.ts';
import { service } from './fixtures.ts';

test('a ClusterIP service port carries its keys, address and defaults', () => {
  const [sp, ...rest] = servicePortsOf(service('web', {}, 'shop'));
  assert.equal(rest.length, 0);
  assert.equal(sp.key, 'shop/web:http/TCP');
  assert.equal(sp.id, 'shop/web:http');
  assert.equal(sp.service, 'shop/web');
  assert.equal(sp.clusterIP, '10.96.0.10');
  assert.equal(sp.port, 80);
  assert.equal(sp.targetPort, 8080);
  assert.equal(sp.nodePort, 0);
  assert.equal(sp.sessionAffinityClientIP, false);
  assert.equal(sp.stickyMaxAgeSeconds, 0);
  assert.equal(sp.hasSelector, true);
  assert.equal(sp.externallyAccessible, false);
  assert.equal(sp.usesClusterEndpoints, true);
  assert.equal(sp.usesLocalEndpoints, false);
});

test('an unnamed port has upstream id ns/name and protocol defaults to TCP', () => {
  const [sp] = servicePortsOf(service('dns', { ports: [{ port: 53 }] }));
  assert.equal(sp.id, 'default/dns');
  assert.equal(sp.key, 'default/dns/TCP');
  assert.equal(sp.targetPort, 53);
});

test('headless, ExternalName and ClusterIP-less services are not proxied', () => {
  assert.deepEqual(servicePortsOf(service('h', { clusterIP: 'None' })), []);
  assert.deepEqual(servicePortsOf(service('e', { type: 'ExternalName', externalName: 'example.com' })), []);
  assert.deepEqual(servicePortsOf(service('n', { clusterIP: undefined })), []);
});

test('the IP family picks the ClusterIP and filters external and load balancer IPs', () => {
  const svc = service('dual', {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.7',
    clusterIPs: ['10.96.0.7', 'fd00::7'],
    externalIPs: ['198.18.9.1', '2001:db8::1'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
  });
  svc.status = {
    loadBalancer: { ingress: [{ ip: '198.18.10.1' }, { ip: '2001:db8::2' }, { hostname: 'lb.example' }] },
  };
  const [v4] = servicePortsOf(svc, 'IPv4');
  assert.equal(v4.clusterIP, '10.96.0.7');
  assert.deepEqual(v4.externalIPs, ['198.18.9.1']);
  assert.deepEqual(v4.loadBalancerIPs, ['198.18.10.1']);
  const [v6] = servicePortsOf(svc, 'IPv6');
  assert.equal(v6.clusterIP, 'fd00::7');
  assert.deepEqual(v6.externalIPs, ['2001:db8::1']);
  assert.deepEqual(servicePortsOf(service('v4only'), 'IPv6'), []);
});

test('load balancer ingress in Proxy ipMode is not captured', () => {
  const svc = service('lb', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30001 }] });
  svc.status = { loadBalancer: { ingress: [{ ip: '198.18.10.1', ipMode: 'Proxy' } as { ip: string }] } };
  assert.deepEqual(servicePortsOf(svc)[0].loadBalancerIPs, []);
});

test('session affinity ClientIP takes its timeout, 10800 s when unset', () => {
  const [a] = servicePortsOf(
    service('a', {
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    }),
  );
  assert.equal(a.sessionAffinityClientIP, true);
  assert.equal(a.stickyMaxAgeSeconds, 60);
  const [b] = servicePortsOf(service('b', { sessionAffinity: 'ClientIP' }));
  assert.equal(b.stickyMaxAgeSeconds, 10800);
});

test('traffic policies: which endpoint sets a service port uses', () => {
  const cases: {
    name: string;
    spec: Parameters<typeof service>[1];
    external: boolean;
    internal: boolean;
    cluster: boolean;
    local: boolean;
    hc: number;
  }[] = [
    {
      name: 'ClusterIP, internal Local',
      spec: { internalTrafficPolicy: 'Local' },
      external: false,
      internal: true,
      cluster: false,
      local: true,
      hc: 0,
    },
    {
      name: 'ClusterIP with externalIPs, external Local',
      spec: { externalIPs: ['198.18.9.1'], externalTrafficPolicy: 'Local' },
      external: true,
      internal: false,
      cluster: true,
      local: true,
      hc: 0,
    },
    {
      name: 'ClusterIP, externalTrafficPolicy ignored without external access',
      spec: { externalTrafficPolicy: 'Local' },
      external: false,
      internal: false,
      cluster: true,
      local: false,
      hc: 0,
    },
    {
      name: 'NodePort, external Local',
      spec: {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      },
      external: true,
      internal: false,
      cluster: true,
      local: true,
      hc: 0,
    },
    {
      name: 'LoadBalancer, external Local: health check node port',
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      },
      external: true,
      internal: false,
      cluster: true,
      local: true,
      hc: 32000,
    },
    {
      name: 'NodePort, both Local',
      spec: {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      },
      external: true,
      internal: true,
      cluster: true,
      local: true,
      hc: 0,
    },
  ];
  for (const c of cases) {
    const [sp] = servicePortsOf(service('s', c.spec));
    assert.equal(sp.externalPolicyLocal, c.external, `${c.name}: externalPolicyLocal`);
    assert.equal(sp.internalPolicyLocal, c.internal, `${c.name}: internalPolicyLocal`);
    assert.equal(sp.usesClusterEndpoints, c.cluster, `${c.name}: usesClusterEndpoints`);
    assert.equal(sp.usesLocalEndpoints, c.local, `${c.name}: usesLocalEndpoints`);
    assert.equal(sp.healthCheckNodePort, c.hc, `${c.name}: healthCheckNodePort`);
  }
});

test('a service without selector says so', () => {
  const [sp] = servicePortsOf(service('manual', { selector: undefined }));
  assert.equal(sp.hasSelector, false);
});
