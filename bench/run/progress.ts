/**
 * The progress display of a bench run, on stderr so stdout stays the report: on a terminal one
 * live line rewritten in place (round, trial, cell, elapsed time, a rough time left); otherwise
 * (CI logs, pipes) plain lines, one per event, which a log keeps readable.
 */
export interface ProgressSink {
  /** A step that is not a trial: building a cluster, setting a workload up, writing reports. */
  phase(message: string): void;
  /** Trial `done` of `total` is starting (or has ended) on `cell`. */
  trial(done: number, total: number, label: string): void;
  /** Ends the live line. */
  end(): void;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function progressDisplay(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const live = Boolean(stream.isTTY);
  const started = Date.now();
  let lineOpen = false;
  const write = (text: string, transient: boolean) => {
    const stamp = `[${clock(Date.now() - started)}]`;
    if (live) {
      const width = Math.max(20, (stream.columns ?? 100) - 1);
      stream.write(`\r\x1b[K${`${stamp} ${text}`.slice(0, width)}${transient ? '' : '\n'}`);
      lineOpen = transient;
    } else {
      stream.write(`${stamp} ${text}\n`);
    }
  };
  return {
    phase: (message) => write(message, false),
    trial(done, total, label) {
      const elapsed = Date.now() - started;
      const left = done > 0 ? ` (~${clock((elapsed / done) * (total - done))} left)` : '';
      write(`trial ${done + 1}/${total}${left}: ${label}`, true);
    },
    end() {
      if (live && lineOpen) stream.write('\n');
      lineOpen = false;
    },
  };
}

/** A sink that shows nothing (tests, the self-test's inner runs). */
export const silentProgress: ProgressSink = { phase() {}, trial() {}, end() {} };
