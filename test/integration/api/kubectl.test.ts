// The real kubectl (v1.32) against kdp's apiserver with its default flags: apply of a multi-document
// manifest, get in every common output, describe, the three patch types, label, annotate, scale,
// delete, `get -w` following a later change, and upstream's wording for errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { KubectlHarness, noKubectl } from './kubectl-harness.ts';
import { until } from '../../helpers/until.ts';

const MANIFEST = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {kubernetes.io/hostname: node-a}
spec:
  podCIDR: 10.244.1.0/24
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels: {app: web}
spec:
  nodeName: node-a
  containers:
  - name: web
    image: nginx:1.27
`;

let k: KubectlHarness;

before(async () => {
  if (!noKubectl) k = await KubectlHarness.start();
});

after(async () => {
  await k?.close();
});

const skip = noKubectl;
const lines = (s: string) => s.trim().split('\n');
const cols = (line: string) => line.trim().split(/\s{2,}/);

test('kubectl version shows kdp as the server', { skip }, async () => {
  const out = await k.ok(['version']);
  assert.match(out, /Server Version: v1\.32\.\d+-kdp/);
});

test('apply -f with several documents creates them all; again, all unchanged', { skip }, async () => {
  const first = await k.ok(['apply', '-f', '-'], MANIFEST);
  assert.deepEqual(lines(first), [
    'namespace/shop created',
    'service/web created',
    'deployment.apps/web created',
    'node/node-a created',
    'pod/web-0 created',
  ]);
  const second = await k.ok(['apply', '-f', '-'], MANIFEST);
  assert.ok(
    lines(second).every((l) => l.endsWith(' unchanged')),
    second,
  );
});

test(
  'get prints kubectl tables; -o wide adds columns; -o json and -o yaml are the objects',
  { skip },
  async () => {
    const table = lines(await k.ok(['get', 'svc', '-n', 'shop']));
    assert.deepEqual(cols(table[0]), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    const row = cols(table[1]);
    assert.equal(row[0], 'web');
    assert.equal(row[1], 'ClusterIP');
    assert.match(row[2], /^10\.96\.\d+\.\d+$/);
    assert.equal(row[4], '80/TCP');
    const wide = lines(await k.ok(['get', 'svc', 'web', '-n', 'shop', '-o', 'wide']));
    assert.deepEqual(cols(wide[0]).slice(-1), ['SELECTOR']);
    assert.equal(cols(wide[1]).at(-1), 'app=web');
    const pods = lines(await k.ok(['get', 'pods', '-A', '-o', 'wide']));
    assert.deepEqual(cols(pods[0]), [
      'NAMESPACE',
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    assert.deepEqual(cols(pods[1]).slice(0, 3), ['shop', 'web-0', '0/1']);
    assert.equal(cols(pods[1])[7], 'node-a');
    const deploy = lines(await k.ok(['get', 'deploy', '-n', 'shop']));
    assert.deepEqual(cols(deploy[0]), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.deepEqual(cols(deploy[1]).slice(0, 2), ['web', '0/2']);
    const nodes = lines(await k.ok(['get', 'nodes']));
    assert.deepEqual(cols(nodes[0]), ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    const ns = lines(await k.ok(['get', 'ns', '--show-labels']));
    assert.deepEqual(cols(ns[0]), ['NAME', 'STATUS', 'AGE', 'LABELS']);
    assert.deepEqual(
      ns
        .slice(1)
        .map((l) => cols(l)[0])
        .sort(),
      ['default', 'kube-node-lease', 'kube-public', 'kube-system', 'shop'],
    );

    const json = JSON.parse(await k.ok(['get', 'svc', 'web', '-n', 'shop', '-o', 'json']));
    assert.equal(json.kind, 'Service');
    assert.equal(json.spec.ports[0].targetPort, 8080);
    const list = JSON.parse(await k.ok(['get', 'svc', '-A', '-o', 'json']));
    assert.ok(
      list.items.some((s: any) => s.metadata.name === 'kubernetes' && s.spec.clusterIP === '10.96.0.1'),
    );
    const yaml = parseYaml(await k.ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'yaml']));
    assert.equal(yaml.kind, 'Deployment');
    assert.equal(yaml.spec.template.spec.containers[0].image, 'nginx:1.27');
    const all = parseAllDocuments(await k.ok(['get', 'svc,deploy', '-n', 'shop', '-o', 'yaml']));
    assert.equal(all.length, 1);
  },
);

test('describe service, pod and node', { skip }, async () => {
  const svc = await k.ok(['describe', 'service', 'web', '-n', 'shop']);
  assert.match(svc, /^Name:\s+web$/m);
  assert.match(svc, /^Selector:\s+app=web$/m);
  assert.match(svc, /^TargetPort:\s+8080\/TCP$/m);
  const pod = await k.ok(['describe', 'pod', 'web-0', '-n', 'shop']);
  assert.match(pod, /^Node:\s+node-a/m);
  assert.match(pod, /^\s+Image:\s+nginx:1\.27$/m);
  const node = await k.ok(['describe', 'node', 'node-a']);
  assert.match(node, /^PodCIDR:\s+10\.244\.1\.0\/24$/m);
  assert.match(node, /shop\s+web-0/);
});

test('patch: strategic by default, --type merge, --type json', { skip }, async () => {
  const get = (path: string) => k.ok(['get', 'svc', 'web', '-n', 'shop', '-o', `jsonpath={${path}}`]);
  assert.match(
    await k.ok([
      'patch',
      'svc',
      'web',
      '-n',
      'shop',
      '-p',
      '{"spec":{"ports":[{"name":"https","port":443,"targetPort":8443}]}}',
    ]),
    /service\/web patched/,
  );
  assert.equal(await get('.spec.ports[*].port'), '80 443', 'strategic merge adds to the list by port');
  await k.ok([
    'patch',
    'svc',
    'web',
    '-n',
    'shop',
    '--type',
    'merge',
    '-p',
    '{"spec":{"sessionAffinity":"ClientIP"}}',
  ]);
  assert.equal(await get('.spec.sessionAffinity'), 'ClientIP');
  await k.ok([
    'patch',
    'svc',
    'web',
    '-n',
    'shop',
    '--type',
    'json',
    '-p',
    '[{"op":"remove","path":"/spec/ports/1"}]',
  ]);
  assert.equal(await get('.spec.ports[*].port'), '80');
});

test('label and annotate', { skip }, async () => {
  assert.match(await k.ok(['label', 'svc', 'web', '-n', 'shop', 'tier=front']), /service\/web labeled/);
  assert.match(
    await k.ok(['annotate', 'svc', 'web', '-n', 'shop', 'owner=netops']),
    /service\/web annotated/,
  );
  const svc = JSON.parse(await k.ok(['get', 'svc', 'web', '-n', 'shop', '-o', 'json']));
  assert.equal(svc.metadata.labels.tier, 'front');
  assert.equal(svc.metadata.annotations.owner, 'netops');
  const selected = await k.ok(['get', 'svc', '-n', 'shop', '-l', 'tier=front', '-o', 'name']);
  assert.equal(selected.trim(), 'service/web');
  await k.ok(['label', 'svc', 'web', '-n', 'shop', 'tier-']);
  assert.equal(await k.ok(['get', 'svc', '-n', 'shop', '-l', 'tier=front', '-o', 'name']), '');
});

test('scale deployment changes spec.replicas', { skip }, async () => {
  assert.match(
    await k.ok(['scale', 'deployment', 'web', '-n', 'shop', '--replicas=5']),
    /deployment.apps\/web scaled/,
  );
  assert.equal(await k.ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']), '5');
});

test('get -w prints a change made after it started', { skip }, async () => {
  const w = k.follow(['get', 'svc', '-n', 'shop', '-w']);
  try {
    await until('the initial list', () => /^web\s/m.test(w.output()));
    await k.ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: late\n  namespace: shop\nspec:\n  ports:\n  - port: 53\n    protocol: UDP\n',
    );
    await until('the new service in the watch output', () =>
      /^late\s+ClusterIP\s+10\.96\.\S+\s+<none>\s+53\/UDP/m.test(w.output()),
    );
    assert.equal((w.output().match(/^NAME\s/gm) ?? []).length, 1, 'one header only');
  } finally {
    w.child.kill();
  }
});

test('delete removes objects and waits for them to go', { skip }, async () => {
  assert.match(await k.ok(['delete', 'svc', 'late', '-n', 'shop']), /service "late" deleted/);
  assert.match(
    await k.ok(['delete', 'pod', 'web-0', '-n', 'shop', '--grace-period=0', '--force']),
    /pod "web-0" force deleted/,
  );
  const gone = await k.run(['get', 'svc', 'late', '-n', 'shop']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /Error from server \(NotFound\): services "late" not found/);
});

test('errors read as upstream words them', { skip }, async () => {
  const missing = await k.run(['get', 'deploy', 'nope', '-n', 'shop']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error from server \(NotFound\): deployments.apps "nope" not found/);
  const invalid = await k.run(
    ['apply', '-f', '-'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n  - port: 70000\n',
  );
  assert.equal(invalid.code, 1);
  assert.match(
    invalid.stderr,
    /The Service "bad" is invalid: \n\* spec.ports\[0\].port: Invalid value: 70000: must be between 1 and 65535, inclusive/,
  );
  const exists = await k.run(
    ['create', '-f', '-'],
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
  );
  assert.match(exists.stderr, /Error from server \(AlreadyExists\).*namespaces "shop" already exists/);
  const unknown = await k.run(['get', 'widgets']);
  assert.match(unknown.stderr, /the server doesn't have a resource type "widgets"/);
});
