/**
 * Streams one watch over HTTP: headers go out at once (chunked JSON), then one JSON event per
 * line, BOOKMARK events on a timer when the client allows them, and the end after the watch's
 * timeout. A client that stops reading is cut off once its unsent bytes pass a bound, so a stuck
 * watcher costs bounded memory instead of growing with every write to the store.
 */
import type { ServerResponse } from 'node:http';
import type { KubeObject, WatchEvent } from '../types.ts';
import type { WatchResult } from './dispatch-types.ts';
import { errorResult } from './dispatch.ts';

/**
 * The serialised line of each stored object's last event. Every watcher of a resource gets the
 * same stored object for a change, so with 100 watchers one JSON.stringify serves them all.
 * Keyed weakly by the (immutable) stored object; the event type is part of the line.
 */
const lineCache = new WeakMap<object, { type: string; line: string }>();

function eventLine(ev: WatchEvent): string {
  const hit = lineCache.get(ev.object);
  if (hit && hit.type === ev.type) return hit.line;
  const line = JSON.stringify(ev) + '\n';
  lineCache.set(ev.object, { type: ev.type, line });
  return line;
}

export type WatchEndReason = 'timeout' | 'client' | 'slow' | 'server' | 'error';

export interface WatchStreamOptions {
  /** How often a BOOKMARK goes out when the client allows bookmarks. */
  bookmarkIntervalMs: number;
  /** Unsent bytes (beyond the initial burst) after which a watcher is cut off. */
  maxBufferedBytes: number;
  /** Called once when the stream ends, with why. */
  onEnd?(reason: WatchEndReason): void;
}

export interface WatchStream {
  /** Ends the stream cleanly (server shutdown). */
  end(): void;
}

/**
 * Starts the watch and answers `res`. When the watch cannot start (410 Expired, 400) the answer
 * is that Status with its HTTP code and undefined is returned.
 */
export function serveWatch(
  res: ServerResponse,
  watch: WatchResult,
  opts: WatchStreamOptions,
): WatchStream | undefined {
  const initial: WatchEvent[] = [];
  let live = false;
  let ended = false;
  let allowance = Infinity;
  let stop: () => void = () => {};
  const timers: { end?: NodeJS.Timeout; bookmarks?: NodeJS.Timeout } = {};

  const finish = (reason: WatchEndReason) => {
    if (ended) return;
    ended = true;
    stop();
    clearTimeout(timers.end);
    clearInterval(timers.bookmarks);
    if (reason === 'slow' || reason === 'client') res.destroy();
    else res.end();
    opts.onEnd?.(reason);
  };

  const write = (ev: WatchEvent): void => {
    if (ended) return;
    if (ev.type === 'ERROR') {
      // The watch failed server-side: its Status goes out as is and the stream ends.
      res.write(JSON.stringify(ev) + '\n');
      return finish('error');
    }
    let line: string;
    try {
      line = watch.transform ? JSON.stringify(watch.transform(ev)) + '\n' : eventLine(ev);
    } catch (e) {
      // A failure after the stream started can only be told in-band, as an ERROR event.
      const status = errorResult(e).body;
      res.write(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      return finish('error');
    }
    res.write(line);
    if (res.writableLength > opts.maxBufferedBytes + allowance) finish('slow');
  };

  try {
    stop = watch.start((ev) => (live ? write(ev) : initial.push(ev)));
  } catch (e) {
    const r = errorResult(e);
    const body = JSON.stringify(r.body);
    res.writeHead(r.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
    return undefined;
  }
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  res.flushHeaders();
  live = true;
  // The initial events (the current objects, or the replay from a resourceVersion) may be large;
  // they are allowed on top of the bound.
  for (const ev of initial) write(ev);
  allowance = res.writableLength;
  initial.length = 0;

  res.on('close', () => finish('client'));
  timers.end = setTimeout(() => finish('timeout'), Math.min(watch.timeoutSeconds * 1000, 2 ** 31 - 1));
  if (watch.allowBookmarks) {
    timers.bookmarks = setInterval(() => {
      const object = {
        kind: watch.objectKind?.kind,
        apiVersion: watch.objectKind?.apiVersion,
        metadata: { resourceVersion: watch.currentResourceVersion() },
      } as KubeObject;
      write({ type: 'BOOKMARK', object });
    }, opts.bookmarkIntervalMs);
  }
  return { end: () => finish('server') };
}
