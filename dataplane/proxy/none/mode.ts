/**
 * Proxy mode none: kube-proxy not deployed. Services and EndpointSlices exist but nothing on the
 * nodes programs them (as a cluster whose CNI replaces kube-proxy before it is installed).
 */
import { defineProxyMode } from '../mode-spec.ts';

export const noneMode = defineProxyMode({
  name: 'none',
  summary: 'no service proxy: Services exist, nothing programs them',
  options: (flags) => flags,
  missing: () => undefined,
  create: null,
});
