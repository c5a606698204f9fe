/**
 * The self-test's injected slowdown: a token bucket (tc tbf) on a node's uplink, inside the node's
 * network namespace (never the host's). tbf shapes what leaves a device, so it goes on the uplink
 * of the node the measured data leaves from. The rate is what the link carries, headers included,
 * while iperf3 reports TCP payload, so the rate is scaled by frame/payload size to slow the
 * payload, which is what the gate sees, by the asked fraction.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODE_UPLINK } from '../../dataplane/cluster/topology-names.ts';
import { KdpError } from '../../dataplane/errors.ts';

const run = promisify(execFile);

export const SELFTEST_ERROR = 'KDP_ERR_BENCH_SELFTEST';

/** Where iproute2 keeps named network namespaces (kdp's are kdp-<cluster>-...). */
const NETNS_DIR = '/run/netns';
/** A full TCP segment on the wire (Ethernet 14 + IPv4 20 + TCP with timestamps 32 + 1448 payload) over its payload. */
export const FRAME_PER_PAYLOAD = 1514 / 1448;

async function tc(netns: string, args: string[]): Promise<string> {
  if (!netns.startsWith('kdp-'))
    throw new KdpError(SELFTEST_ERROR, `refusing to run tc outside a kdp namespace ("${netns}")`);
  try {
    const r = await run('nsenter', [`--net=${join(NETNS_DIR, netns)}`, '--', 'tc', ...args], {
      timeout: 10_000,
    });
    return r.stdout;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new KdpError(SELFTEST_ERROR, `tc ${args.join(' ')} in ${netns} failed: ${stderr || e}`, {
      cause: e,
    });
  }
}

/** The tbf rate, in bit/s, that lets `payloadGbps` x (1 - slowdown) of TCP payload through. */
export function tbfRateBits(payloadGbps: number, slowdown: number): number {
  return Math.round(payloadGbps * 1e9 * (1 - slowdown) * FRAME_PER_PAYLOAD);
}

/** Bucket depth: 10 ms at the rate (at least 1 MiB), so TCP's bursts are smoothed, not cut. */
export const TBF_BURST_SECONDS = 0.01;
/** Queue in front of the bucket: deep enough that the shaper delays rather than drops. */
export const TBF_LATENCY = '100ms';

/** Installs tbf at `rateBits` as the uplink's root qdisc; returns `tc qdisc show` of the uplink. */
export async function injectTbf(netns: string, rateBits: number): Promise<string> {
  // Measured on a busy 2-core machine: a shallow bucket (rate/HZ, 50 ms) took 20-25% off a
  // CPU-bound iperf3 stream instead of 10%; deeper ones came closer. The report records the
  // slowdown each injected run actually saw (measuredRatio).
  const burst = Math.max(1 << 20, Math.round((rateBits / 8) * TBF_BURST_SECONDS));
  const args = ['qdisc', 'replace', 'dev', NODE_UPLINK, 'root', 'tbf', 'rate', `${rateBits}bit`];
  await tc(netns, [...args, 'burst', String(burst), 'latency', TBF_LATENCY]);
  return shownQdisc(netns);
}

export function shownQdisc(netns: string): Promise<string> {
  return tc(netns, ['qdisc', 'show', 'dev', NODE_UPLINK]);
}

/** Puts the uplink's default qdisc back; idempotent (no tbf there is fine). */
export async function removeTbf(netns: string): Promise<void> {
  const shown = await shownQdisc(netns);
  if (/\btbf\b/.test(shown)) await tc(netns, ['qdisc', 'del', 'dev', NODE_UPLINK, 'root']);
}
