/**
 * The generic native loader: a module is found by its binding.gyp target name under the repo's
 * build/Release, a name that is not a target name is refused before any path is built, and the
 * overlay's module loads through it (the same object every time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isKdpError } from '../../../dataplane/errors.ts';
import { loadNativeModule, nativeModulePath } from '../../../dataplane/native/loader.ts';
import {
  OVERLAY_ADDON_PATH,
  OVERLAY_MODULE,
} from '../../../dataplane/overlay/backends/udp/native-binding.ts';

test('a module path is build/Release/<target>.node at the repo root', () => {
  const path = nativeModulePath('kdp_overlay');
  assert.match(path, /\/build\/Release\/kdp_overlay\.node$/);
  assert.equal(OVERLAY_ADDON_PATH, path);
  assert.ok(existsSync(path), `${path} is built (scripts/setup.sh)`);
});

test('a name that is not a target name is refused', () => {
  for (const name of ['../kdp_overlay', 'kdp/overlay', '', 'KDP']) {
    assert.throws(
      () => nativeModulePath(name),
      (err: unknown) => isKdpError(err, 'KDP_ERR_INVALID_ARGUMENT'),
      name,
    );
  }
});

test('a module is loaded once and shared', () => {
  const a = loadNativeModule<{ openTun: unknown }>(OVERLAY_MODULE);
  assert.equal(typeof a.openTun, 'function');
  assert.equal(loadNativeModule(OVERLAY_MODULE), a);
});

test('a module never built is KDP_ERR_NATIVE_MISSING', () => {
  assert.throws(
    () => loadNativeModule('kdp_never_built'),
    (err: unknown) => isKdpError(err, 'KDP_ERR_NATIVE_MISSING') && /kdp_never_built\.node/.test(err.message),
  );
});
