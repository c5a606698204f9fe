/**
 * Cluster DNS in a real cluster (issue 18): programs in pods reach Services by name through their
 * own resolv.conf (curl by short name in the same namespace, by FQDN from another), a headless
 * Service resolves to its ready pods and follows them as they go, SRV for named ports, dnsPolicy
 * None/Default with dnsConfig, names outside the cluster refused at once, and resolution keeps
 * working while the DNS Deployment scales from 2 to 1 behind the kube-dns ClusterIP. The host's
 * /etc/resolv.conf and root namespace stay as they were.
 * Run as root: node scripts/run-tests.mjs integration cluster/dns
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Namespace, Pod, Service } from '../../../dataplane/api/types.ts';
import { podObject } from '../../../dataplane/cluster/builder-objects.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { createService } from '../proxy/helpers.ts';
import { until } from '../../helpers/until.ts';
import { uniqueCluster, withRootUnchanged } from './helpers.ts';

const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];
const hostResolvConf = () => createHash('sha256').update(readFileSync('/etc/resolv.conf')).digest('hex');

/** Runs `script` as a pod's container (its own resolv.conf) to the end; resolves with its output. */
async function runPod(
  c: Cluster,
  name: string,
  script: string,
  spec: Partial<Pod['spec']> = {},
  namespace = 'default',
): Promise<string> {
  const pod = podObject(name, { namespace, node: 'node-1', image: 'busybox', command: ['sh', '-c', script] });
  pod.spec = { ...pod.spec, restartPolicy: 'Never', ...spec };
  const created = await c.client.resource<Pod>('pods').create(pod);
  const done = await until(
    `pod ${namespace}/${name} to finish`,
    async () => {
      const p = await c.client.resource<Pod>('pods').get(name, namespace);
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
    },
    30_000,
  );
  const log = readFileSync(
    `/run/kdp/${c.name}/nodes/node-1/pods/${created.metadata.uid}/busybox.log`,
    'utf8',
  );
  assert.equal(done.status?.phase, 'Succeeded', `pod ${name} failed: ${log}`);
  await c.deletePod(`${namespace}/${name}`, { wait: false });
  return log;
}

/** Lookups from a pod's network namespace straight to kube-dns's ClusterIP (through the proxy). */
async function lookup(c: Cluster, pod: string, name: string, type: 'A' | 'SRV' | 'PTR'): Promise<string> {
  const code = `
    const { Resolver } = await import('node:dns/promises');
    const r = new Resolver({ timeout: 1000, tries: 2 }); r.setServers(['10.96.0.10']);
    try { const a = await r.resolve(process.argv[1], process.argv[2]);
      console.log(JSON.stringify(Array.isArray(a) ? a.sort() : a));
    } catch (e) { console.log(e.code); }`;
  const r = await c.exec(pod, ['node', '--input-type=module', '-e', code, name, type], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

test('cluster DNS: names from pods, headless, SRV, policies, DNS scaled 2 -> 1', async (t) => {
  const cluster = uniqueCluster();
  const before = hostResolvConf();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 0 }, { handleSignals: false });
    await c.client.resource<Namespace>('namespaces').create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'other' },
    });
    await c.addPod('web-1', { node: 'node-2', labels: { app: 'web' } });
    const backend = await createService(c.client, 'backend-service', {
      ports: HTTP,
      selector: { app: 'web' },
    });
    await c.addPod('probe', { image: 'kdp/pause', node: 'node-1' });
    // node-1's proxy programs the Service within its sync period: what is tested below is the name.
    await until('node-1 to reach backend-service by its ClusterIP', async () => {
      const r = await c.exec('probe', ['curl', '-sS', '-m', '2', `http://${backend.spec!.clusterIP}/`], {
        timeoutMs: 5_000,
      });
      return r.stdout.trim() === 'web-1';
    });

    // Same namespace by short name (search path), another namespace by FQDN.
    const same = await runPod(c, 'client', 'cat /etc/resolv.conf; curl -sS -m 10 http://backend-service/');
    assert.match(same, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
    assert.match(same, /^nameserver 10\.96\.0\.10$/m);
    assert.match(same, /^options ndots:5$/m);
    assert.match(same, /^web-1$/m);
    const other = await runPod(
      c,
      'client',
      'curl -sS -m 10 http://backend-service.default.svc.cluster.local/; getent hosts kubernetes.default',
      {},
      'other',
    );
    assert.match(other, /^web-1$/m);
    assert.match(other, /^10\.96\.0\.1\s+kubernetes\.default\.svc\.cluster\.local$/m);

    // Names outside the cluster are refused at once: the lookup fails, it does not hang.
    const outside = await runPod(c, 'outside', 'getent hosts example.com || echo refused');
    assert.match(outside, /^refused$/m);

    // dnsPolicy None with dnsConfig; Default with dnsConfig merges into the host's file.
    const none = await runPod(c, 'none', 'cat /etc/resolv.conf', {
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['10.96.0.10'],
        searches: ['example.test'],
        options: [{ name: 'ndots', value: '2' }],
      },
    });
    assert.equal(none, 'search example.test\nnameserver 10.96.0.10\noptions ndots:2\n');
    const dflt = await runPod(c, 'dflt', 'cat /etc/resolv.conf', { dnsPolicy: 'Default' });
    assert.equal(dflt, readFileSync('/etc/resolv.conf', 'utf8'));

    // SRV of a named port.
    const srv = JSON.parse(
      await lookup(c, 'probe', '_http._tcp.backend-service.default.svc.cluster.local', 'SRV'),
    );
    assert.deepEqual(srv, [
      { name: 'backend-service.default.svc.cluster.local', port: 80, priority: 0, weight: 100 },
    ]);

    // Headless: the ready pods' addresses, following them as they go.
    const db1 = await c.addPod('db-1', { node: 'node-1', labels: { app: 'db' } });
    const db2 = await c.addPod('db-2', { node: 'node-2', labels: { app: 'db' } });
    await createService(c.client, 'db', { ports: HTTP, selector: { app: 'db' }, clusterIP: 'None' });
    const both = JSON.stringify([db1.status!.podIP!, db2.status!.podIP!].sort());
    await until(
      'db to resolve to both pods',
      async () => (await lookup(c, 'probe', 'db.default.svc.cluster.local', 'A')) === both,
    );
    await c.deletePod('db-2');
    const one = JSON.stringify([db1.status!.podIP!]);
    await until(
      'db to resolve to db-1 only',
      async () => (await lookup(c, 'probe', 'db.default.svc.cluster.local', 'A')) === one,
    );

    // Resolution while the DNS Deployment goes from 2 to 1: every lookup answers correctly.
    const loop = c.exec(
      'probe',
      [
        'node',
        '--input-type=module',
        '-e',
        `const { Resolver } = await import('node:dns/promises');
         const r = new Resolver({ timeout: 1000, tries: 3 }); r.setServers(['10.96.0.10']);
         const out = [];
         for (let i = 0; i < 150; i++) {
           try { out.push((await r.resolve4('kubernetes.default.svc.cluster.local')).join()); } catch (e) { out.push(e.code); }
           await new Promise((s) => setTimeout(s, 20));
         }
         console.log(JSON.stringify(out));`,
      ],
      { timeoutMs: 120_000 },
    );
    await c.scale('coredns', 1, { namespace: 'kube-system' });
    const answers = JSON.parse((await loop).stdout) as string[];
    assert.equal(answers.length, 150);
    assert.deepEqual([...new Set(answers)], ['10.96.0.1']);
    const svc = await c.client.resource<Service>('services').get('backend-service', 'default');
    assert.equal(
      await lookup(c, 'probe', 'backend-service.default.svc.cluster.local', 'A'),
      JSON.stringify([svc.spec.clusterIP]),
    );
  });
  assert.equal(hostResolvConf(), before, "the host's /etc/resolv.conf changed");
});
