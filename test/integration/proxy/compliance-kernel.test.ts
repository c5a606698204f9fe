/**
 * The compliance suite (dataplane/proxy/compliance) on the real kernel, for every registered mode
 * with a real-kernel harness (its spec's compliance.kernel): each case programs a throwaway
 * namespace and every flow is traced through what the kernel then holds (the iptables mode:
 * dataplane/proxy/iptables/testing/kernel-harness.ts). Packets themselves are sent by the
 * cluster tests beside this file. Run as root:
 *   node --import tsx --test test/integration/proxy/compliance-kernel.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_CASES, runCase, supports, VARIANTS } from '../../../dataplane/proxy/compliance/index.ts';
import { proxyModes } from '../../../dataplane/proxy/modes.ts';
import { withIsolatedKernel } from '../kernel/isolated.ts';

for (const spec of proxyModes()) {
  const kernelHarness = spec.compliance?.kernel;
  if (!kernelHarness) continue;
  test(`compliance cases on the real kernel, proxy mode ${spec.name}`, async (t) => {
    await withIsolatedKernel(t, async (kernel) => {
      for (const mode of await kernelHarness(kernel)) {
        for (const c of ALL_CASES) {
          for (const variant of VARIANTS) {
            await t.test(
              `${mode.name}: ${c.name} (${variant})`,
              { skip: !supports(mode, c) && 'not supported here' },
              async () => {
                assert.deepEqual(await runCase(mode, c, variant), []);
              },
            );
          }
        }
      }
    });
  });
}
