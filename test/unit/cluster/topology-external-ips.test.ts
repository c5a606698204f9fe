// `kdp up --deny-service-external-ips` and the topology field it sets: carried to the cluster's
// apiserver (upstream's DenyServiceExternalIPs); a non-boolean value is a topology problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologyFromFlags } from '../../../dataplane/cli/commands/up.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';

test('the flag sets denyServiceExternalIPs; without it the topology has none', () => {
  assert.equal(
    resolveTopology(topologyFromFlags({ denyServiceExternalIps: true })).denyServiceExternalIPs,
    true,
  );
  assert.equal(resolveTopology(topologyFromFlags({})).denyServiceExternalIPs, undefined);
  assert.equal(resolveTopology({ denyServiceExternalIPs: false }).denyServiceExternalIPs, undefined);
});

test('a non-boolean denyServiceExternalIPs is refused with the field named', () => {
  assert.throws(
    () => resolveTopology({ denyServiceExternalIPs: 'yes' as unknown as boolean }),
    (e: Error & { details?: { problems?: { field: string }[] } }) =>
      !!e.details?.problems?.some((p) => p.field === 'denyServiceExternalIPs'),
  );
});
