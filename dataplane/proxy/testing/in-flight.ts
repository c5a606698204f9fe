/**
 * Counts the calls in flight of an object's async methods, so a test harness on real kernel tools
 * (which answer in real time) can wait until none is running.
 */
export class InFlight {
  started = 0;
  running = 0;

  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, key, receiver) => {
        const value = Reflect.get(obj, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const r = (value as (...a: unknown[]) => unknown).apply(obj, args);
          if (!(r instanceof Promise)) return r;
          this.started++;
          this.running++;
          return r.finally(() => this.running--);
        };
      },
    });
  }

  /** Resolves once nothing is in flight. */
  async idle(): Promise<void> {
    while (this.running > 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setImmediate(r));
  }
}
