/**
 * The compliance suite (dataplane/proxy/compliance) on every registered mode that has a fake-kernel
 * harness (its spec's compliance.fake): every case, reached both by one full sync and by partial
 * syncs, traced through the rules the mode programmed. A mode added to the registry with a
 * harness is tested here without any change to this file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_CASES, runCase, supports, VARIANTS } from '../../../dataplane/proxy/compliance/index.ts';
import { proxyModes } from '../../../dataplane/proxy/modes.ts';

const harnesses = await Promise.all(proxyModes().flatMap((m) => (m.compliance ? [m.compliance.fake()] : [])));

test('every mode that programs rules has a fake-kernel compliance harness', () => {
  const without = proxyModes().filter((m) => m.runsProxier && !m.compliance);
  assert.deepEqual(
    without.map((m) => m.name),
    [],
  );
});

for (const mode of harnesses) {
  for (const c of ALL_CASES) {
    for (const variant of VARIANTS) {
      test(`${mode.name}: ${c.name} (${variant}): ${c.feature}`, { skip: !supports(mode, c) }, async () => {
        assert.deepEqual(await runCase(mode, c, variant), []);
      });
    }
  }
}
