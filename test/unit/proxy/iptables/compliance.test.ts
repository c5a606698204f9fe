/**
 * The compliance suite (dataplane/proxy/compliance) on the iptables mode with a fake kernel: every
 * case, reached both by one full sync and by partial syncs, traced through the programmed rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_CASES, runCase, supports, VARIANTS } from '../../../../dataplane/proxy/compliance/index.ts';
import { iptablesOnFakeKernel } from '../../../../dataplane/proxy/iptables/testing/fake-harness.ts';

for (const c of ALL_CASES) {
  for (const variant of VARIANTS) {
    test(`${c.name} (${variant}): ${c.feature}`, { skip: !supports(iptablesOnFakeKernel, c) }, async () => {
      assert.deepEqual(await runCase(iptablesOnFakeKernel, c, variant), []);
    });
  }
}
