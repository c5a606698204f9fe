/**
 * The nftables proxy mode in a real 2-node cluster (the agents' proxiers write table ip
 * kube-proxy with nft), with real packets, the same checks as the iptables mode's
 * (iptables-services.test.ts): a ClusterIP spreads connections over backends on both nodes
 * without masquerading pod traffic; a NodePort answers a client outside the cluster (masqueraded
 * with the Cluster policy, source kept and local backends only with Local); ClientIP affinity
 * keeps a client on one backend; a Service without endpoints refuses at once; hairpin traffic is
 * masqueraded to the node's bridge address. The root namespace is unchanged afterwards. Run as
 * root:
 *   node --import tsx --test test/integration/proxy/nftables-services.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod, Service } from '../../../dataplane/api/types.ts';
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';
import { addBackends, backendsOf, createService, errorsOf, inNamespace, inPod, requests } from './helpers.ts';
import { until } from '../../helpers/until.ts';

const WEB = ['web-1a', 'web-1b', 'web-2a', 'web-2b'];
const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];

test('nftables mode: ClusterIP, NodePort, affinity, no endpoints, hairpin', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    await using c = await Cluster.create(
      { cluster, nodes: 2, podsPerNode: 0, proxyMode: 'nftables' },
      { handleSignals: false },
    );
    const [pods] = await Promise.all([
      addBackends(
        c,
        WEB.map((name) => ({
          name,
          node: name.startsWith('web-1') ? 'node-1' : 'node-2',
          labels: { app: 'web', pod: name },
        })),
      ),
      c.addPod('client', { image: 'kdp/pause', node: 'node-1' }),
    ]);
    const clientIp = (await c.client.resource<Pod>('pods').get('client', 'default')).status!.podIP!;
    const web = await createService(c.client, 'web', { ports: HTTP });
    const client = inPod(c, 'client');
    const [node1, node2] = c.nodes;

    await t.test('a ClusterIP reaches every backend on both nodes, pod sources kept', async () => {
      const answers = await requests(client, 'http', {
        ip: web.spec.clusterIP!,
        port: 80,
        count: 60,
        waitFirstMs: 15_000,
      });
      assert.deepEqual(errorsOf(answers), []);
      assert.deepEqual([...backendsOf(answers).keys()].sort(), WEB);
      assert.ok(
        answers.every((a) => a.body!.endsWith(` ${clientIp}`)),
        'pod traffic is not masqueraded',
      );
    });

    await t.test('a NodePort answers a client on the underlay; Local keeps its source', async () => {
      const outside = await c.addExternalClient({ name: 'outside' });
      const np = await createService(c.client, 'web-np', {
        type: 'NodePort',
        selector: { app: 'web' },
        ports: HTTP,
      });
      const nodePort = np.spec.ports![0].nodePort!;
      const viaNode1 = await requests(inNamespace(outside.netns), 'http', {
        ip: node1.underlayIp,
        port: nodePort,
        count: 60,
        waitFirstMs: 15_000,
      });
      assert.deepEqual(errorsOf(viaNode1), []);
      assert.deepEqual([...backendsOf(viaNode1).keys()].sort(), WEB, 'Cluster policy: backends on any node');
      assert.ok(!viaNode1.some((a) => a.body!.endsWith(` ${outside.ip}`)), 'Cluster policy masquerades');

      await c.client
        .resource<Service>('services')
        .patch(
          'web-np',
          { spec: { externalTrafficPolicy: 'Local' } },
          { namespace: 'default', type: 'merge' },
        );
      // Once node-2 has the Local rules, 20 connections in a row keep the source and stay local.
      const local = await until('node-2 to serve its NodePort with the Local policy', async () => {
        const batch = await requests(inNamespace(outside.netns), 'http', {
          ip: node2.underlayIp,
          port: nodePort,
          count: 20,
        });
        return batch.every((a) => a.body?.endsWith(` ${outside.ip}`)) ? batch : undefined;
      });
      assert.ok(
        [...backendsOf(local).keys()].every((p) => p.startsWith('web-2')),
        `only node-2's backends: ${[...backendsOf(local).keys()]}`,
      );
    });

    await t.test('ClientIP affinity keeps a client on one backend', async () => {
      const sticky = await createService(c.client, 'sticky', {
        selector: { app: 'web' },
        sessionAffinity: 'ClientIP',
        ports: HTTP,
      });
      const answers = await requests(client, 'http', {
        ip: sticky.spec.clusterIP!,
        port: 80,
        count: 30,
        waitFirstMs: 15_000,
      });
      assert.deepEqual(errorsOf(answers), []);
      assert.equal(backendsOf(answers).size, 1, `one backend: ${[...backendsOf(answers)]}`);
    });

    await t.test('a Service without endpoints refuses at once, not by timeout', async () => {
      const empty = await createService(c.client, 'empty', { selector: { app: 'nothing' }, ports: HTTP });
      // Before the proxy programs it the ClusterIP is unroutable (EHOSTUNREACH), then REJECT.
      await until('the empty Service to be refused', async () => {
        const [a] = await requests(client, 'http', { ip: empty.spec.clusterIP!, port: 80, count: 1 });
        return a.error === 'ECONNREFUSED' ? a : undefined;
      });
      // With 5 s to answer, a dropped connection would end in a timeout.
      const answers = await requests(client, 'http', {
        ip: empty.spec.clusterIP!,
        port: 80,
        count: 5,
        timeoutMs: 5000,
      });
      assert.deepEqual(errorsOf(answers), Array(5).fill('ECONNREFUSED'));
    });

    await t.test('a backend reaches itself through its Service (hairpin, masqueraded)', async () => {
      const self = await createService(c.client, 'self', { selector: { pod: 'web-1a' }, ports: HTTP });
      const answers = await requests(inPod(c, 'web-1a'), 'http', {
        ip: self.spec.clusterIP!,
        port: 80,
        count: 5,
        waitFirstMs: 15_000,
      });
      assert.deepEqual(errorsOf(answers), []);
      // The reply can only come back because the source became the node's bridge address.
      for (const a of answers) assert.equal(a.body, `web-1a ${node1.gateway}`);
      assert.equal(pods.get('web-1a')?.spec.nodeName, 'node-1');
    });
  });
});
