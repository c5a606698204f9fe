// The legacy Endpoints controller on the real in-process apiserver: ready and not-ready addresses,
// resolved ports, terminating Pods left out, and the object removed with its Service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, Pod } from '../../../dataplane/api/types.ts';
import { EndpointsController } from '../../../dataplane/controllers/endpoints.ts';
import { fastRetry, makeNode, makePod, makeService, readyCondition, stack } from './harness.ts';
import { until } from '../../helpers/until.ts';

test('Endpoints mirror the ready and not-ready pods of a service', async () => {
  const s = await stack();
  await makeNode(s.client, 'n1', { ready: true });
  await makeService(s.client, 'web', {
    selector: { app: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'web' }],
  });
  const ports = [{ name: 'web', containerPort: 8080 }];
  await makePod(s.client, 'w1', { labels: { app: 'web' }, node: 'n1', ip: '10.244.0.3', ports });
  await makePod(s.client, 'w2', { labels: { app: 'web' }, node: 'n1', ip: '10.244.0.2', ports });
  await makePod(s.client, 'w3', {
    labels: { app: 'web' },
    node: 'n1',
    ip: '10.244.0.4',
    ports,
    ready: false,
  });
  await makeService(s.client, 'manual', { ports: [{ port: 80 }] });
  const ctl = new EndpointsController(s.client, { retry: fastRetry });
  const eps = s.client.resource<Endpoints>('endpoints');
  try {
    await ctl.start();
    let ep = await until('endpoints of web', () => eps.tryGet('web', 'default'));
    assert.deepEqual(ep.subsets, [
      {
        addresses: [
          {
            ip: '10.244.0.2',
            nodeName: 'n1',
            targetRef: {
              kind: 'Pod',
              namespace: 'default',
              name: 'w2',
              uid: ep.subsets![0].addresses![0].targetRef!.uid,
            },
          },
          {
            ip: '10.244.0.3',
            nodeName: 'n1',
            targetRef: {
              kind: 'Pod',
              namespace: 'default',
              name: 'w1',
              uid: ep.subsets![0].addresses![1].targetRef!.uid,
            },
          },
        ],
        notReadyAddresses: [
          {
            ip: '10.244.0.4',
            nodeName: 'n1',
            targetRef: {
              kind: 'Pod',
              namespace: 'default',
              name: 'w3',
              uid: ep.subsets![0].notReadyAddresses![0].targetRef!.uid,
            },
          },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);

    const pods = s.client.resource<Pod>('pods');
    const w3 = await pods.get('w3', 'default');
    await pods.updateStatus({ ...w3, status: { ...w3.status, conditions: [readyCondition(true)] } });
    await pods.delete('w1', { namespace: 'default', gracePeriodSeconds: 30 });
    ep = await until('w3 ready and w1 (terminating) gone', async () => {
      const e = await eps.get('web', 'default');
      const ips = e.subsets?.[0]?.addresses?.map((a) => a.ip);
      return JSON.stringify(ips) === JSON.stringify(['10.244.0.2', '10.244.0.4']) && e;
    });
    assert.equal(ep.subsets![0].notReadyAddresses, undefined);
    assert.equal(await eps.tryGet('manual', 'default'), undefined, 'a Service without selector gets none');

    await s.client.resource('services').delete('web', { namespace: 'default' });
    await until(
      'endpoints removed with the service',
      async () => (await eps.tryGet('web', 'default')) === undefined,
    );
  } finally {
    await ctl.close();
    s.close();
  }
});
