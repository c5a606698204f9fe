/**
 * A userspace overlay engine's counters (OverlayBackend.counters()) as Prometheus metrics on the
 * agent's metrics endpoint, read at scrape time so the engine's hot loop never calls into them:
 *
 *   kdp_overlay_packets_total{backend, direction}   direction: tun_rx, tun_tx, udp_rx, udp_tx
 *   kdp_overlay_bytes_total{backend, direction}
 *   kdp_overlay_drops_total{backend, reason}        reason: no-route, malformed, unknown-peer, ...
 *
 * counters() keys follow the engine's names: <side>Rx|Tx<Packets|Bytes> and drops.<reason>;
 * other keys (batch histograms, ICMP sent) are not exported here. Kernel backends have no
 * counters, and their metrics are then absent.
 */
import { Counter, Registry } from 'prom-client';
import type { OverlayBackend } from './backend.ts';

const TRAFFIC_KEY = /^([a-z]+)(Rx|Tx)(Packets|Bytes)$/;

/** counters() split into the three families; a key that fits none is left out. */
export function overlaySamples(counters: Record<string, number>) {
  const packets: Record<string, number> = {};
  const bytes: Record<string, number> = {};
  const drops: Record<string, number> = {};
  for (const [key, value] of Object.entries(counters)) {
    const m = TRAFFIC_KEY.exec(key);
    if (m) (m[3] === 'Packets' ? packets : bytes)[`${m[1]}_${m[2].toLowerCase()}`] = value;
    else if (key.startsWith('drops.')) drops[key.slice('drops.'.length)] = value;
  }
  return { packets, bytes, drops };
}

/** A registry whose metrics read `backend.counters()` at each scrape; undefined if it has none. */
export function overlayMetricsRegistry(backend: OverlayBackend): Registry | undefined {
  const counters = backend.counters?.bind(backend);
  if (!counters) return undefined;
  const registry = new Registry();
  const family = (name: string, help: string, label: string, pick: 'packets' | 'bytes' | 'drops') =>
    new Counter({
      name,
      help,
      labelNames: ['backend', label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, n] of Object.entries(overlaySamples(counters())[pick])) {
          this.inc({ backend: backend.name, [label]: value }, n);
        }
      },
    });
  family(
    'kdp_overlay_packets_total',
    'Packets the overlay engine moved, by direction',
    'direction',
    'packets',
  );
  family('kdp_overlay_bytes_total', 'Bytes the overlay engine moved, by direction', 'direction', 'bytes');
  family('kdp_overlay_drops_total', 'Packets the overlay engine dropped, by reason', 'reason', 'drops');
  return registry;
}
