import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSlice, Endpoints } from '../../../dataplane/api/types.ts';
import { causeFor, ENDPOINTS, EVENTS, invalidCauses, newRegistry, SLICES } from './strategy-fixture.ts';

function slice(name: string, body: Record<string, unknown>): unknown {
  return { metadata: { name, labels: { 'kubernetes.io/service-name': 'web' } }, ...body };
}

test('endpointslices: defaults and a valid slice round-trips', () => {
  const { registry } = newRegistry();
  const s = registry.create(
    SLICES,
    'default',
    slice('web-1', {
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: ['10.244.1.5'],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: 'n1',
        },
      ],
      ports: [{ port: 8080 }, { name: 'metrics', port: 9090, protocol: 'TCP' }],
    }),
  ) as EndpointSlice;
  assert.deepEqual(s.ports, [
    { port: 8080, name: '', protocol: 'TCP' },
    { name: 'metrics', port: 9090, protocol: 'TCP' },
  ]);
  const fqdn = registry.create(
    SLICES,
    'default',
    slice('web-2', { addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }] }),
  );
  assert.equal((fqdn as EndpointSlice).addressType, 'FQDN');
});

test('endpointslice validation: address type, counts, addresses, ports, conditions', () => {
  const { registry } = newRegistry();
  const none = invalidCauses(() => registry.create(SLICES, 'default', slice('a', { endpoints: [] })));
  assert.equal(causeFor(none, 'addressType').reason, 'FieldValueRequired');
  const causes = invalidCauses(() =>
    registry.create(
      SLICES,
      'default',
      slice('b', {
        addressType: 'IPv4',
        endpoints: [
          { addresses: [] },
          { addresses: ['fd00::1'], conditions: { ready: 'yes' } },
          { addresses: Array.from({ length: 101 }, (_, i) => `10.0.0.${i % 250}`) },
        ],
        ports: [
          { name: 'http', port: 70000, protocol: 'ICMP' },
          { name: 'http', port: 80 },
        ],
      }),
    ),
  );
  assert.equal(
    causeFor(causes, 'endpoints[0].addresses').message,
    'Required value: must contain at least 1 address',
  );
  assert.equal(
    causeFor(causes, 'endpoints[1].addresses[0]').message,
    'Invalid value: "fd00::1": must be a valid IPv4 address',
  );
  assert.equal(causeFor(causes, 'endpoints[1].conditions.ready').reason, 'FieldValueInvalid');
  assert.equal(
    causeFor(causes, 'endpoints[2].addresses').message,
    'Too many: 101: must have at most 100 items',
  );
  assert.equal(
    causeFor(causes, 'ports[0].port').message,
    'Invalid value: 70000: must be between 0 and 65535, inclusive',
  );
  assert.equal(causeFor(causes, 'ports[0].protocol').reason, 'FieldValueNotSupported');
  assert.equal(causeFor(causes, 'ports[1].name').message, 'Duplicate value: "http"');
  const many = invalidCauses(() =>
    registry.create(
      SLICES,
      'default',
      slice('c', {
        addressType: 'IPv4',
        endpoints: Array.from({ length: 1001 }, () => ({ addresses: ['10.1.1.1'] })),
      }),
    ),
  );
  assert.equal(causeFor(many, 'endpoints').reason, 'FieldValueTooMany');
  registry.create(SLICES, 'default', slice('d', { addressType: 'IPv4', endpoints: [] }));
  const changed = invalidCauses(() =>
    registry.patch(SLICES, 'default', 'd', 'merge', { addressType: 'IPv6' }),
  );
  assert.equal(causeFor(changed, 'addressType').message, 'Invalid value: "IPv6": field is immutable');
});

test('endpoints: addresses must be real IPs and ports valid', () => {
  const { registry } = newRegistry();
  const ep = registry.create(ENDPOINTS, 'default', {
    metadata: { name: 'web' },
    subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80 }] }],
  }) as Endpoints;
  assert.equal(ep.subsets![0].ports![0].protocol, 'TCP');
  const causes = invalidCauses(() =>
    registry.create(ENDPOINTS, 'default', {
      metadata: { name: 'bad' },
      subsets: [
        {
          addresses: [{ ip: 'x' }],
          notReadyAddresses: [{ ip: '127.0.0.1' }],
          ports: [{ port: 0 }, { name: 'b', port: 1 }],
        },
      ],
    }),
  );
  assert.equal(causeFor(causes, 'subsets[0].addresses[0].ip').reason, 'FieldValueInvalid');
  assert.match(causeFor(causes, 'subsets[0].notReadyAddresses[0].ip').message!, /loopback/);
  assert.equal(
    causeFor(causes, 'subsets[0].ports[0].port').message,
    'Invalid value: 0: must be between 1 and 65535, inclusive',
  );
  assert.equal(causeFor(causes, 'subsets[0].ports[0].name').reason, 'FieldValueRequired');
});

test('events need the object they are about', () => {
  const { registry } = newRegistry();
  registry.create(EVENTS, 'default', {
    metadata: { name: 'e1' },
    involvedObject: { kind: 'Pod', name: 'p' },
    reason: 'Started',
  });
  const causes = invalidCauses(() =>
    registry.create(EVENTS, 'default', { metadata: { name: 'e2' }, reason: 'x' }),
  );
  assert.equal(causeFor(causes, 'involvedObject').message, 'Required value');
});
