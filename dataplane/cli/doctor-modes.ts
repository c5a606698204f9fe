/**
 * `kdp doctor`'s line per proxy mode, from the registry (proxy/modes.ts): whether this host can
 * run it with its default flags, and what only degrades it. A mode added to the registry shows
 * up here without any change to the doctor.
 */
import { proxyModes, realHost, resolveModeFlags, type HostProbe } from '../proxy/modes.ts';
import type { DoctorCheck } from './doctor-checks.ts';

export function proxyModeChecks(host: HostProbe = realHost): DoctorCheck[] {
  return proxyModes().map((m) => {
    const flags = resolveModeFlags(m.name);
    const missing = m.missing(host, flags);
    const degraded = missing ? [] : m.degraded(host, flags);
    const shown = Object.entries(flags)
      .map(([f, v]) => ` --${f} ${v}`)
      .join('');
    return {
      name: `proxy mode ${m.name}`,
      ok: !missing,
      detail: missing ?? [m.summary, ...degraded.map((d) => `degraded: ${d}`)].join('; '),
      disables: `kdp up --proxy-mode ${m.name}${shown}`,
      required: false,
    };
  });
}
