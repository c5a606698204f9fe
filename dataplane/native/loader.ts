/**
 * Loads kdp's native modules (native/, built by binding.gyp: one module per facility, each
 * build/Release/<name>.node). It knows no facility: each one's typed binding lives with it (the
 * udp overlay's in overlay/backends/udp/native-binding.ts) and loads its module through here.
 * Loading is lazy: code paths that never touch a native module work on a checkout that was never
 * built, and the first use on such a checkout fails with KDP_ERR_NATIVE_MISSING saying what to run.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../errors.ts';

/** Path of a built module (binding.gyp target `name`): the repo root's build/Release. */
export function nativeModulePath(name: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new KdpError(
      'KDP_ERR_INVALID_ARGUMENT',
      `"${name}" is not a native module name (a binding.gyp target)`,
    );
  }
  return fileURLToPath(new URL(`../../build/Release/${name}.node`, import.meta.url));
}

const loaded = new Map<string, unknown>();

/** The module built by target `name`, loaded on first call; KDP_ERR_NATIVE_MISSING when it was never built. */
export function loadNativeModule<T>(name: string): T {
  if (!loaded.has(name)) loaded.set(name, loadNativeModuleAt<T>(nativeModulePath(name)));
  return loaded.get(name) as T;
}

/** Loads a module from `path` (tests point it elsewhere to see the missing-build error). */
export function loadNativeModuleAt<T>(path: string): T {
  const require = createRequire(import.meta.url);
  try {
    return require(path) as T;
  } catch (err) {
    throw new KdpError(
      'KDP_ERR_NATIVE_MISSING',
      `the native module ${path} could not be loaded: run scripts/setup.sh to build it`,
      { cause: err },
    );
  }
}
