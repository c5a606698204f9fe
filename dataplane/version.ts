/**
 * kdp's own version (from package.json) and the Kubernetes API version its apiserver speaks, in
 * one place for `kdp version`, the apiserver's /version and the kubeconfig it writes.
 */
import { readFileSync } from 'node:fs';

/** The Kubernetes release whose API kdp serves, as `kubectl version` shows it. */
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-kdp' } as const;

let cached: string | undefined;

export function kdpVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    cached = pkg.version ?? 'unknown';
  }
  return cached;
}
