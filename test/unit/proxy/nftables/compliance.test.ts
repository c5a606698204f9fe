/**
 * The compliance suite (dataplane/proxy/compliance) on the nftables mode with a fake kernel: every
 * case, reached both by one full sync and by partial syncs, traced through the programmed table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_CASES, runCase, supports, VARIANTS } from '../../../../dataplane/proxy/compliance/index.ts';
import { nftablesOnFakeKernel } from '../../../../dataplane/proxy/nftables/testing/fake-harness.ts';

for (const c of ALL_CASES) {
  for (const variant of VARIANTS) {
    test(`${c.name} (${variant}): ${c.feature}`, { skip: !supports(nftablesOnFakeKernel, c) }, async () => {
      assert.deepEqual(await runCase(nftablesOnFakeKernel, c, variant), []);
    });
  }
}
