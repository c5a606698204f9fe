// The EndpointSlice controller on the real in-process apiserver: slice shape and placement (100
// per slice, named ports resolved per Pod), conditions through readiness flips and termination,
// the last-change-trigger-time, and that it writes only what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice, Pod, Service } from '../../../dataplane/api/types.ts';
import { EndpointSliceController } from '../../../dataplane/controllers/endpointslice.ts';
import { fastRetry, makeNode, makePod, makeService, readyCondition, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

const SLICES = 'discovery.k8s.io/endpointslices';

async function slicesOf(client: Awaited<ReturnType<typeof stack>>['client'], svc: string) {
  const list = await client
    .resource<EndpointSlice>(SLICES)
    .list({ namespace: 'default', labelSelector: `kubernetes.io/service-name=${svc}` });
  return list.items;
}

const endpointsOf = (slices: EndpointSlice[]) => slices.flatMap((s) => s.endpoints ?? []);
const byPod = (slices: EndpointSlice[], pod: string) =>
  endpointsOf(slices).find((e) => e.targetRef?.name === pod);
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

test('250 ready pods give 3 slices (100/100/50) that follow readiness, termination and deletion', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true, labels: { 'topology.kubernetes.io/zone': 'zone-a' } });
  const svc = await makeService(s.client, 'web', {
    selector: { app: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }],
  });
  for (let i = 0; i < 250; i++) {
    await makePod(s.client, `web-${i}`, {
      labels: { app: 'web' },
      node: 'n1',
      ip: `10.244.${Math.floor(i / 200)}.${(i % 200) + 2}`,
      ports: [{ name: 'web', containerPort: 8080 }],
    });
  }
  await makePod(s.client, 'other', { labels: { app: 'db' }, node: 'n1', ip: '10.244.9.9' });
  const ctl = new EndpointSliceController(s.client, { retry: fastRetry });
  try {
    await ctl.start();
    let slices = await until('3 slices with 250 endpoints', async () => {
      const got = await slicesOf(s.client, 'web');
      return endpointsOf(got).length === 250 && got;
    });
    assert.deepEqual(
      slices.map((x) => x.endpoints.length).sort((a, b) => a - b),
      [50, 100, 100],
    );
    for (const slice of slices) {
      assert.equal(slice.addressType, 'IPv4');
      assert.match(slice.metadata.name!, /^web-[a-z0-9]{5}$/);
      assert.equal(slice.metadata.generateName, 'web-');
      assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'web');
      assert.equal(
        slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'],
        'endpointslice-controller.k8s.io',
      );
      assert.equal(slice.metadata.labels?.['service.kubernetes.io/headless'], undefined);
      assert.deepEqual(slice.metadata.ownerReferences, [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: 'web',
          uid: svc.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      assert.deepEqual(slice.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    }
    const first = byPod(slices, 'web-0')!;
    assert.deepEqual(first.addresses, ['10.244.0.2']);
    assert.deepEqual(first.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(first.nodeName, 'n1');
    assert.equal(first.zone, 'zone-a');
    assert.equal(first.targetRef?.kind, 'Pod');
    assert.equal(first.targetRef?.name, 'web-0');
    assert.ok(first.targetRef?.uid);
    assert.equal(byPod(slices, 'other'), undefined);

    const pods = s.client.resource<Pod>('pods');
    // Readiness flips to False: one slice rewritten, stamped with the Pod's transition time.
    const writesBefore = s.writes('endpointslices');
    const flipAt = seconds(Date.now() + 3_600_000);
    const p0 = await pods.get('web-0', 'default');
    await pods.updateStatus({ ...p0, status: { ...p0.status, conditions: [readyCondition(false, flipAt)] } });
    slices = await until('web-0 not ready', async () => {
      const got = await slicesOf(s.client, 'web');
      return byPod(got, 'web-0')?.conditions?.ready === false && got;
    });
    assert.deepEqual(byPod(slices, 'web-0')!.conditions, {
      ready: false,
      serving: false,
      terminating: false,
    });
    const holder = slices.find((x) => x.endpoints.some((e) => e.targetRef?.name === 'web-0'))!;
    assert.equal(holder.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], flipAt);
    assert.equal(s.writes('endpointslices') - writesBefore, 1, 'only the slice holding the pod is written');

    // Terminating: kept, not ready, still serving; the trigger time is when the deletion was asked for.
    const p1 = await pods.get('web-1', 'default');
    await pods.updateStatus({ ...p1, status: { ...p1.status, conditions: [readyCondition(true)] } });
    await pods.delete('web-1', { namespace: 'default', gracePeriodSeconds: 30 });
    const terminating = await pods.get('web-1', 'default');
    slices = await until('web-1 terminating', async () => {
      const got = await slicesOf(s.client, 'web');
      return byPod(got, 'web-1')?.conditions?.terminating === true && got;
    });
    assert.deepEqual(byPod(slices, 'web-1')!.conditions, { ready: false, serving: true, terminating: true });
    const asked = Date.parse(terminating.metadata.deletionTimestamp!) - 30_000;
    const holder1 = slices.find((x) => x.endpoints.some((e) => e.targetRef?.name === 'web-1'))!;
    assert.equal(
      holder1.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'],
      seconds(asked),
    );

    // Deleted: gone from every slice, the others untouched.
    await pods.delete('web-2', { namespace: 'default', gracePeriodSeconds: 0 });
    slices = await until('web-2 gone', async () => {
      const got = await slicesOf(s.client, 'web');
      return !byPod(got, 'web-2') && got;
    });
    assert.equal(endpointsOf(slices).length, 249);
    assert.equal(slices.length, 3);

    // A change no endpoint reflects (a new transition time on a Pod that stays Ready) writes nothing;
    // the next real change writes one slice.
    const w0 = s.writes('endpointslices');
    const rv0 = new Map(slices.map((x) => [x.metadata.name, x.metadata.resourceVersion]));
    const p3 = await pods.get('web-3', 'default');
    await pods.updateStatus({
      ...p3,
      status: { ...p3.status, conditions: [readyCondition(true, seconds(Date.now() + 1000))] },
    });
    const p4 = await pods.get('web-4', 'default');
    await pods.updateStatus({ ...p4, status: { ...p4.status, conditions: [readyCondition(false)] } });
    slices = await until('web-4 not ready', async () => {
      const got = await slicesOf(s.client, 'web');
      return byPod(got, 'web-4')?.conditions?.ready === false && got;
    });
    assert.equal(s.writes('endpointslices') - w0, 1);
    const bumped = slices.filter((x) => rv0.get(x.metadata.name) !== x.metadata.resourceVersion);
    assert.equal(bumped.length, 1);
  } finally {
    await ctl.close();
    s.close();
  }
});

test('a restarted controller over up-to-date slices writes nothing', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  await makeService(s.client, 'web', { selector: { app: 'web' } });
  for (let i = 0; i < 30; i++)
    await makePod(s.client, `web-${i}`, { labels: { app: 'web' }, node: 'n1', ip: `10.244.0.${i + 2}` });
  const first = new EndpointSliceController(s.client, { retry: fastRetry, maxEndpointsPerSlice: 10 });
  await first.start();
  await until('30 endpoints', async () => endpointsOf(await slicesOf(s.client, 'web')).length === 30);
  await first.close();
  const rv = s.store.resourceVersion;
  const writes = s.writes('endpointslices');
  const second = new EndpointSliceController(s.client, { retry: fastRetry, maxEndpointsPerSlice: 10 });
  try {
    await second.start();
    // A sync marker: a new Service's slice appears only after the queue got to it.
    await makeService(s.client, 'marker', { selector: { app: 'none' } });
    await until('marker placeholder slice', async () => (await slicesOf(s.client, 'marker')).length === 1);
    const sliceWrites = s.writes('endpointslices') - writes;
    assert.equal(sliceWrites, 1, 'only the marker placeholder was created');
    assert.equal(s.store.resourceVersion - rv, 2, 'the marker Service and its slice, nothing else');
    assert.equal((await slicesOf(s.client, 'web')).length, 3);
  } finally {
    await second.close();
    s.close();
  }
});

test('pods resolving a named port differently go to different slices; headless, selectorless and deleted services', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  await makeService(s.client, 'api', {
    selector: { app: 'api' },
    clusterIP: 'None',
    ports: [{ name: 'h', port: 80, targetPort: 'web' }],
  });
  await makePod(s.client, 'a', {
    labels: { app: 'api' },
    node: 'n1',
    ip: '10.244.0.2',
    ports: [{ name: 'web', containerPort: 8080 }],
  });
  await makePod(s.client, 'b', {
    labels: { app: 'api' },
    node: 'n1',
    ip: '10.244.0.3',
    ports: [{ name: 'web', containerPort: 9090 }],
  });
  await makePod(s.client, 'c', {
    labels: { app: 'api' },
    node: 'n1',
    ip: '10.244.0.4',
    ports: [{ name: 'web', containerPort: 8080 }],
  });
  await makePod(s.client, 'unbound', { labels: { app: 'api' } });
  await makeService(s.client, 'manual', { ports: [{ port: 80 }] });
  const ctl = new EndpointSliceController(s.client, { retry: fastRetry });
  try {
    await ctl.start();
    const slices = await until('two slices for api', async () => {
      const got = await slicesOf(s.client, 'api');
      return endpointsOf(got).length === 3 && got.length === 2 && got;
    });
    const byPort = new Map(
      slices.map((x) => [x.ports?.[0]?.port, x.endpoints.map((e) => e.targetRef?.name).sort()]),
    );
    assert.deepEqual(byPort.get(8080), ['a', 'c']);
    assert.deepEqual(byPort.get(9090), ['b']);
    for (const x of slices) assert.equal(x.metadata.labels?.['service.kubernetes.io/headless'], '');
    assert.equal((await slicesOf(s.client, 'manual')).length, 0, 'a Service without selector is left alone');

    await s.client.resource('services').delete('api', { namespace: 'default' });
    await until(
      'slices of a deleted service removed',
      async () => (await slicesOf(s.client, 'api')).length === 0,
    );
  } finally {
    await ctl.close();
    s.close();
  }
});

test('a service whose pods all go keeps one empty placeholder slice, reused when pods return', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  await makeService(s.client, 'solo', { selector: { app: 'solo' } });
  const ctl = new EndpointSliceController(s.client, { retry: fastRetry });
  try {
    await ctl.start();
    const [placeholder] = await until('placeholder', async () => {
      const got = await slicesOf(s.client, 'solo');
      return got.length === 1 && got;
    });
    assert.deepEqual(placeholder.endpoints, []);
    await makePod(s.client, 'p', { labels: { app: 'solo' }, node: 'n1', ip: '10.244.0.2' });
    const [filled] = await until('endpoint in the placeholder', async () => {
      const got = await slicesOf(s.client, 'solo');
      return got.length === 1 && got[0].endpoints.length === 1 && got;
    });
    assert.equal(filled.metadata.name, placeholder.metadata.name, 'updated in place, not replaced');
  } finally {
    await ctl.close();
    s.close();
  }
});

test('a targetPort change rewrites the slices in place instead of replacing them', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  await makeService(s.client, 'web', { selector: { app: 'web' } });
  for (let i = 0; i < 150; i++)
    await makePod(s.client, `web-${i}`, { labels: { app: 'web' }, node: 'n1', ip: `10.244.1.${i + 2}` });
  const ctl = new EndpointSliceController(s.client, { retry: fastRetry });
  try {
    await ctl.start();
    const before = await until('150 endpoints', async () => {
      const got = await slicesOf(s.client, 'web');
      return endpointsOf(got).length === 150 && got;
    });
    const services = s.client.resource<Service>('services');
    const cur = await services.get('web', 'default');
    await services.update({
      ...cur,
      spec: { ...cur.spec, ports: [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }] },
    });
    const after = await until('slices on port 9090', async () => {
      const got = await slicesOf(s.client, 'web');
      return got.every((x) => x.ports?.[0]?.port === 9090) && endpointsOf(got).length === 150 && got;
    });
    assert.deepEqual(
      after.map((x) => x.metadata.name).sort(),
      before.map((x) => x.metadata.name).sort(),
      'same slices, updated',
    );
  } finally {
    await ctl.close();
    s.close();
  }
});
