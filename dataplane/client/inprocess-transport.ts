/**
 * The Transport that calls the apiserver's dispatcher directly, for controllers and tests that run
 * in the apiserver's own process: the same routing, validation and errors as over HTTP, without
 * sockets or JSON. Objects are cloned both ways, so neither side can change the other's copy (the
 * store hands out its own objects). Watch events are queued and delivered on a later microtask,
 * never from inside `emit`, which runs in the middle of the store's write.
 */
import { ApiError } from '../api/errors.ts';
import type { Dispatcher } from '../api/http/dispatch.ts';
import type { ApiRequest, ApiResult, WatchResult } from '../api/http/dispatch-types.ts';
import type { Status, WatchEvent } from '../api/types.ts';
import { describeError, KdpError } from '../errors.ts';
import { contentTypeFor } from './client.ts';
import type { Transport, TransportRequest } from './interface.ts';

export interface InProcessTransportOptions {
  /** How often a watch that allows bookmarks gets one, ms. Default 5 s, as the HTTP server. */
  bookmarkIntervalMs?: number;
}

export function createInProcessTransport(
  dispatch: Dispatcher,
  opts: InProcessTransportOptions = {},
): Transport {
  const bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 5_000;

  function call(req: TransportRequest): ApiResult {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const apiReq: ApiRequest = {
      method: req.method,
      path: req.path,
      query,
      contentType: contentTypeFor(req),
      accept: 'application/json',
      body: req.body === undefined ? undefined : structuredClone(req.body),
    };
    let result: ApiResult;
    try {
      result = dispatch(apiReq);
    } catch (err) {
      throw asApiError(err, req);
    }
    if (result.kind !== 'watch' && (result.status < 200 || result.status >= 300)) {
      throw errorFromResult(result, req);
    }
    return result;
  }

  return {
    async request(req) {
      if (req.signal?.aborted) throw req.signal.reason;
      const result = call(req);
      if (result.kind === 'watch') {
        throw new KdpError(
          'KDP_ERR_API_BAD_RESPONSE',
          `${req.method} ${req.path}: a watch answered a plain request`,
        );
      }
      return result.kind === 'text' ? result.body : structuredClone(result.body);
    },

    watch(req, onEvent) {
      if (req.signal?.aborted) return Promise.resolve();
      let result: ApiResult;
      try {
        result = call(req);
      } catch (err) {
        return Promise.reject(err);
      }
      if (result.kind !== 'watch') {
        return Promise.reject(
          new KdpError(
            'KDP_ERR_API_BAD_RESPONSE',
            `${req.method} ${req.path}: the server did not start a watch`,
          ),
        );
      }
      return runWatch(result, req, onEvent, bookmarkIntervalMs);
    },

    close() {
      // Nothing held: watches end through their signals or timeouts.
    },
  };
}

/**
 * Runs one watch the way the HTTP stream does (watch-stream.ts): the events in order, a BOOKMARK
 * every interval when allowed, the end after the watch's timeout; only the delivery differs, on a
 * microtask after `emit` instead of through a socket.
 */
function runWatch(
  w: WatchResult,
  req: TransportRequest,
  onEvent: (ev: WatchEvent) => void,
  bookmarkIntervalMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue: WatchEvent[] = [];
    let scheduled = false;
    let ending = false;
    let done = false;
    // Filled in once the watch has started; finish() may run before that (start throws).
    const running: { stop?: () => void; timeout?: NodeJS.Timeout; bookmarks?: NodeJS.Timeout } = {};
    const stop = () => {
      running.stop?.();
      running.stop = undefined;
    };

    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      stop();
      clearTimeout(running.timeout);
      clearInterval(running.bookmarks);
      req.signal?.removeEventListener('abort', onAbort);
      queue.length = 0;
      if (err === undefined) resolve();
      else reject(err);
    };
    const drain = () => {
      scheduled = false;
      while (!done && queue.length) {
        const ev = queue.shift() as WatchEvent;
        try {
          const out = w.transform ? w.transform(ev) : ev;
          // As over HTTP, an ERROR event ends the watch with its Status.
          if (out.type === 'ERROR') return finish(ApiError.fromStatus(out.object as unknown as Status));
          onEvent({ type: out.type, object: structuredClone(out.object) });
        } catch (err) {
          return finish(err);
        }
      }
      if (ending) finish();
    };
    const schedule = () => {
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(drain);
      }
    };
    const push = (ev: WatchEvent) => {
      if (done || ending) return;
      queue.push(ev);
      schedule();
    };
    const onAbort = () => finish();

    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      running.stop = w.start(push);
    } catch (err) {
      return finish(asApiError(err, req));
    }
    running.timeout = setTimeout(
      () => {
        // Deliver what is already queued, then end.
        stop();
        ending = true;
        schedule();
      },
      Math.min(w.timeoutSeconds * 1000, 2 ** 31 - 1),
    );
    if (w.allowBookmarks && bookmarkIntervalMs > 0) {
      running.bookmarks = setInterval(() => {
        const object = {
          kind: w.objectKind?.kind ?? '',
          apiVersion: w.objectKind?.apiVersion ?? '',
          metadata: { resourceVersion: w.currentResourceVersion() },
        };
        push({ type: 'BOOKMARK', object });
      }, bookmarkIntervalMs);
    }
  });
}

/** The dispatcher throws ApiError for API failures; anything else is a server bug, shown as a 500. */
function asApiError(err: unknown, req: TransportRequest): unknown {
  if (err instanceof ApiError) return err;
  return new ApiError(
    'InternalError',
    `${req.method} ${req.path}: internal error: ${describeError(err)}`,
    {},
    undefined,
    err,
  );
}

function errorFromResult(result: Exclude<ApiResult, WatchResult>, req: TransportRequest): ApiError {
  const body = result.body as Partial<Status> | undefined;
  if (result.kind === 'object' && body && body.kind === 'Status')
    return ApiError.fromStatus(body as Status, result.status);
  const text = result.kind === 'text' ? `: ${result.body.slice(0, 200)}` : '';
  return ApiError.fromStatus(
    {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: `${req.method} ${req.path}: HTTP ${result.status}${text}`,
      code: result.status,
    },
    result.status,
  );
}
