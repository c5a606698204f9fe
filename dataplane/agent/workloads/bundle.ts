/**
 * Turns the built-in servers (server.ts and what it imports) into one plain-JavaScript file in the
 * agent's state dir, once per agent start, with esbuild (the compiler tsx itself runs on). A pod
 * then starts as `node <file>`: about 65 ms and 7 MB of private memory, where running the
 * TypeScript through tsx costs about three times the CPU and six times the memory per pod, which
 * matters at a hundred pods per node. The file is replaced atomically, so pods running an older
 * copy are not disturbed.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { KdpError } from '../../errors.ts';

export const WORKLOAD_FILE = 'kdp-workload.mjs';
/** The cluster DNS (kdp/dns), in a file of its own: the small servers do not load its client. */
export const DNS_WORKLOAD_FILE = 'kdp-dns.mjs';

/** Bundles the servers into `dir`; resolves with the small servers' file's path. */
export async function bundleWorkloads(dir: string): Promise<string> {
  const out = join(dir, WORKLOAD_FILE);
  await bundleOne(new URL('./server.ts', import.meta.url), out);
  await bundleOne(new URL('../../dns/main.ts', import.meta.url), join(dir, DNS_WORKLOAD_FILE));
  return out;
}

async function bundleOne(url: URL, out: string): Promise<void> {
  const entry = fileURLToPath(url);
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      // CommonJS packages (dns-packet) require node built-ins: give the ES module a require.
      banner: {
        js: "import { createRequire as kdpCreateRequire } from 'node:module'; const require = kdpCreateRequire(import.meta.url);",
      },
    });
    const tmp = `${out}.tmp`;
    await writeFile(tmp, result.outputFiles[0].contents);
    await rename(tmp, out);
  } catch (e) {
    throw new KdpError('KDP_ERR_AGENT_WORKLOADS', `cannot build the built-in workload servers into ${out}`, {
      cause: e,
    });
  }
}
