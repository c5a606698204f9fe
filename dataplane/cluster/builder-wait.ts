/**
 * Waiting for the apiserver to show a state: an informer (list, then watch) over one resource,
 * re-checking a condition on every event, so waiting costs no polling and sees each change as it
 * happens. Used for "every node has a pod CIDR", "every pod is Ready", "this pod is gone". A
 * wait ends with the condition's value, or a KdpError when the time limit passes or the signal
 * aborts, saying what was still missing.
 */
import type { KubeObject, Node, Pod } from '../api/types.ts';
import { createInformer } from '../client/informer.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { KdpError } from '../errors.ts';
import { isNodeReady, isPodReady, LABEL_CLUSTER, podKey } from './builder-objects.ts';
import type { Topology } from './topology.ts';

export const WAIT_TIMEOUT = 'KDP_ERR_CLUSTER_WAIT_TIMEOUT';

export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WaitCheck<R> {
  /** The result when the condition holds, undefined while it does not. */
  done: R | undefined;
  /** What is still missing, for progress and for the timeout error. */
  pending?: string;
}

/**
 * Resolves once `check` over the cached objects returns `done`. `what` names the wait in errors.
 * `onChange` sees every re-check (progress reporting).
 */
export async function waitForObjects<T extends KubeObject, R>(
  client: ApiClient,
  resource: string,
  what: string,
  check: (objects: T[]) => WaitCheck<R>,
  options: WaitOptions & { onChange?(state: WaitCheck<R>): void },
): Promise<R> {
  const informer: Informer<T> = createInformer<T>(client, resource, {
    namespace: options.namespace,
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
    backoffInitialMs: 20,
    backoffMaxMs: 1000,
    log: () => {},
  });
  let last: WaitCheck<R> = { done: undefined };
  try {
    return await new Promise<R>((resolve, reject) => {
      const evaluate = () => {
        if (!informer.hasSynced()) return;
        try {
          last = check(informer.list(options.namespace));
        } catch (e) {
          reject(e);
          return;
        }
        options.onChange?.(last);
        if (last.done !== undefined) resolve(last.done);
      };
      const fail = (reason: string, cause?: unknown) =>
        reject(
          new KdpError(
            WAIT_TIMEOUT,
            `${reason} waiting for ${what}${last.pending ? `: ${last.pending}` : ''}`,
            {
              cause,
            },
          ),
        );
      const timer = setTimeout(() => fail(`timed out after ${options.timeoutMs} ms`), options.timeoutMs);
      const onAbort = () => fail('aborted', options.signal?.reason);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const settle =
        <A extends unknown[]>(f: (...a: A) => void) =>
        (...a: A) => {
          cleanup();
          f(...a);
        };
      resolve = settle(resolve);
      reject = settle(reject);
      informer.addHandlers({ onAdd: evaluate, onUpdate: evaluate, onDelete: evaluate });
      informer.start();
      informer.waitForSync(options.signal).then(evaluate, () => {});
    });
  } finally {
    informer.stop();
  }
}

/** Names of at most `max` items, and how many more: "a, b, c and 7 more". */
export function someNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export function waitForNodesReady(
  client: ApiClient,
  topology: Topology,
  options: { signal?: AbortSignal; timeoutMs: number },
): Promise<true> {
  return waitForObjects<Node, true>(
    client,
    'nodes',
    'every node agent to report its Node Ready',
    (list) => {
      const ready = new Set(list.filter(isNodeReady).map((n) => n.metadata.name));
      const waiting = topology.nodes.filter((n) => !ready.has(n.name)).map((n) => n.name);
      return { done: waiting.length ? undefined : true, pending: `not Ready: ${someNames(waiting)}` };
    },
    { ...options, labelSelector: `${LABEL_CLUSTER}=${topology.cluster}` },
  );
}

/** Waits until every pod in `keys` (namespace/name) is Ready; reports progress as they come. */
export function waitForPodsReady(
  client: ApiClient,
  keys: readonly string[],
  options: { signal?: AbortSignal; timeoutMs: number; onCount?(ready: number, total: number): void },
): Promise<Pod[]> {
  const wanted = new Set(keys);
  let lastCount = -1;
  return waitForObjects<Pod, Pod[]>(
    client,
    'pods',
    `${keys.length} pods to be Ready`,
    (list) => {
      const ready = list.filter(
        (p) => wanted.has(podKey(p)) && isPodReady(p) && !p.metadata.deletionTimestamp,
      );
      if (ready.length !== lastCount) options.onCount?.((lastCount = ready.length), wanted.size);
      const readyKeys = new Set(ready.map(podKey));
      const waiting = keys.filter((k) => !readyKeys.has(k));
      return { done: waiting.length ? undefined : ready, pending: `not Ready: ${someNames(waiting)}` };
    },
    { signal: options.signal, timeoutMs: options.timeoutMs },
  );
}
