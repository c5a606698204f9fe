// Server-side printing: `as=Table` answers as kubectl get expects (columns, cells, the row object
// as PartialObjectMetadata or as asked by includeObject), for lists, single objects and watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration } from '../../../dataplane/api/http/table-columns.ts';
import {
  call,
  collect,
  DEPLOY_PATH,
  deployment,
  expectObject,
  expectWatch,
  newFixture,
  pod,
  POD_PATH,
  service,
  SVC_PATH,
} from './dispatch-fixture.ts';

const KUBECTL_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

const columns = (t: any) => t.columnDefinitions.filter((c: any) => c.priority === 0).map((c: any) => c.name);
const wide = (t: any) => t.columnDefinitions.filter((c: any) => c.priority === 1).map((c: any) => c.name);

test('pods: NAME READY STATUS RESTARTS AGE, wide IP NODE NOMINATED NODE READINESS GATES', () => {
  const f = newFixture();
  const p = expectObject(call(f, 'POST', POD_PATH, { body: pod('web-1', { nodeName: 'node-a' }) }), 201);
  call(f, 'PUT', `${POD_PATH}/web-1/status`, {
    body: {
      ...p,
      status: {
        phase: 'Running',
        podIP: '10.244.1.7',
        containerStatuses: [{ name: 'c', ready: true, restartCount: 2 }],
      },
    },
  });
  const t = expectObject(call(f, 'GET', POD_PATH, { accept: KUBECTL_ACCEPT }));
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.match(t.metadata.resourceVersion, /^\d+$/);
  assert.deepEqual(columns(t), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
  assert.deepEqual(wide(t), ['IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  assert.equal(t.columnDefinitions[0].format, 'name');
  const [row] = t.rows;
  assert.deepEqual(row.cells.slice(0, 4), ['web-1', '1/1', 'Running', '2']);
  assert.match(row.cells[4], /^\d+s$/);
  assert.deepEqual(row.cells.slice(5), ['10.244.1.7', 'node-a', '<none>', '<none>']);
  assert.deepEqual(row.object.kind, 'PartialObjectMetadata');
  assert.equal(row.object.apiVersion, 'meta.k8s.io/v1');
  assert.equal(row.object.metadata.name, 'web-1');
  assert.equal(row.object.spec, undefined);
});

test('services: TYPE CLUSTER-IP EXTERNAL-IP PORT(S) with node ports, wide SELECTOR', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('np', {}, { type: 'NodePort' }) });
  const t = expectObject(call(f, 'GET', `${SVC_PATH}/np`, { accept: KUBECTL_ACCEPT }));
  assert.deepEqual(columns(t), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age']);
  assert.deepEqual(wide(t), ['Selector']);
  assert.equal(t.rows.length, 1);
  const [name, type, clusterIP, external, ports, , selector] = t.rows[0].cells;
  assert.equal(name, 'np');
  assert.equal(type, 'NodePort');
  assert.match(clusterIP, /^10\.96\.\d+\.\d+$/);
  assert.equal(external, '<none>');
  assert.match(ports, /^80:3\d{4}\/TCP$/);
  assert.equal(selector, 'app=np');
});

test('nodes, namespaces, deployments and endpointslices have their kubectl columns', () => {
  const f = newFixture();
  call(f, 'POST', '/api/v1/nodes', {
    body: {
      metadata: { name: 'n1', labels: { 'node-role.kubernetes.io/control-plane': '' } },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '198.18.0.2' }],
        nodeInfo: { kubeletVersion: 'v1.32.0-kdp' },
      },
    },
  });
  const nodes = expectObject(call(f, 'GET', '/api/v1/nodes', { accept: KUBECTL_ACCEPT }));
  assert.deepEqual(columns(nodes), ['Name', 'Status', 'Roles', 'Age', 'Version']);
  const cells = nodes.rows[0].cells;
  assert.deepEqual([cells[0], cells[2], cells[5]], ['n1', 'control-plane', '198.18.0.2']);
  assert.match(cells[1], /^(Ready|Unknown)$/); // status may be reset by the node strategy on create

  const ns = expectObject(call(f, 'GET', '/api/v1/namespaces', { accept: KUBECTL_ACCEPT }));
  assert.deepEqual(columns(ns), ['Name', 'Status', 'Age']);
  assert.deepEqual(ns.rows[0].cells.slice(0, 2), ['default', 'Active']);

  call(f, 'POST', DEPLOY_PATH, { body: deployment('web', 3) });
  const d = expectObject(call(f, 'GET', DEPLOY_PATH, { accept: KUBECTL_ACCEPT }));
  assert.deepEqual(columns(d), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age']);
  assert.deepEqual(wide(d), ['Containers', 'Images', 'Selector']);
  assert.deepEqual(d.rows[0].cells.slice(0, 4), ['web', '0/3', 0, 0]);
  assert.deepEqual(d.rows[0].cells.slice(5), ['c', 'nginx', 'app=web']);

  call(f, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    body: {
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: ['10.244.1.2', '10.244.1.3', '10.244.2.2', '10.244.2.3'].map((ip) => ({ addresses: [ip] })),
    },
  });
  const es = expectObject(
    call(f, 'GET', '/apis/discovery.k8s.io/v1/endpointslices', { accept: KUBECTL_ACCEPT }),
  );
  assert.deepEqual(columns(es), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
  assert.deepEqual(es.rows[0].cells.slice(0, 4), [
    'web-abc',
    'IPv4',
    '8080',
    '10.244.1.2,10.244.1.3,10.244.2.2 + 1 more...',
  ]);
});

test('includeObject=None drops the row object; Object sends the whole object', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('web') });
  const none = expectObject(
    call(f, 'GET', SVC_PATH, { accept: KUBECTL_ACCEPT, query: { includeObject: 'None' } }),
  );
  assert.ok(none.rows.every((r: any) => r.object === undefined));
  const full = expectObject(
    call(f, 'GET', SVC_PATH, { accept: KUBECTL_ACCEPT, query: { includeObject: 'Object' } }),
  );
  const web = full.rows.find((r: any) => r.object.metadata.name === 'web');
  assert.equal(web.object.kind, 'Service');
  assert.equal(web.object.spec.ports[0].port, 80);
  const meta = expectObject(
    call(f, 'GET', SVC_PATH, { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' }),
  );
  assert.equal(meta.kind, 'PartialObjectMetadataList');
  assert.ok(meta.items.some((o: any) => o.metadata.name === 'web' && o.spec === undefined));
  const plain = expectObject(call(f, 'GET', SVC_PATH, { accept: 'application/json' }));
  assert.equal(plain.kind, 'ServiceList');
});

test('a watch with as=Table sends one-row Tables, column definitions in the first only', () => {
  const f = newFixture();
  call(f, 'POST', SVC_PATH, { body: service('a') });
  const w = expectWatch(
    call(f, 'GET', SVC_PATH, {
      accept: KUBECTL_ACCEPT,
      query: { watch: 'true', labelSelector: 'app!=none' },
    }),
  );
  const { events, stop } = collect(w);
  call(f, 'POST', SVC_PATH, { body: service('b') });
  stop();
  assert.equal(events.length, 2);
  const [first, second] = events as any[];
  assert.equal(first.type, 'ADDED');
  assert.equal(first.object.kind, 'Table');
  assert.equal(first.object.columnDefinitions.length, 7);
  assert.equal(first.object.rows[0].cells[0], 'a');
  assert.deepEqual(second.object.columnDefinitions, []);
  assert.equal(second.object.rows[0].cells[0], 'b');
  assert.equal(second.object.rows[0].object.kind, 'PartialObjectMetadata');
});

test('ages read as upstream prints them', () => {
  const s = 1000;
  assert.equal(humanDuration(5 * s), '5s');
  assert.equal(humanDuration(119 * s), '119s');
  assert.equal(humanDuration(5 * 60 * s + 10 * s), '5m10s');
  assert.equal(humanDuration(6 * 60 * s), '6m');
  assert.equal(humanDuration(42 * 60 * s), '42m');
  assert.equal(humanDuration(3 * 3600 * s + 20 * 60 * s), '3h20m');
  assert.equal(humanDuration(30 * 3600 * s), '30h');
  assert.equal(humanDuration(3 * 86400 * s + 4 * 3600 * s), '3d4h');
  assert.equal(humanDuration(100 * 86400 * s), '100d');
  assert.equal(humanDuration(3 * 365 * 86400 * s + 10 * 86400 * s), '3y10d');
});
