/**
 * Progress for commands that take more than a moment, on stderr (stdout stays for data): on a
 * terminal one line with a spinner that is rewritten in place; otherwise plain lines, one per
 * step and at most one a second for a step that repeats (1000 pods coming Ready), so logs of CI
 * runs stay readable. `quiet` (for --json) shows nothing.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  /** The current step; `key` groups updates of one step (default: the text). */
  update(text: string, key?: string): void;
  /** Ends the line with a final message. */
  done(text: string): void;
  /** Clears the spinner (before printing an error). */
  stop(): void;
}

export function createProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  if (options.quiet) return { update() {}, done() {}, stop() {} };
  if (!stream.isTTY) {
    let lastKey: string | undefined;
    let lastAt = 0;
    return {
      update(text, key = text) {
        const now = Date.now();
        if (key === lastKey && now - lastAt < 1000) return;
        lastKey = key;
        lastAt = now;
        stream.write(`[${seconds()}] ${text}\n`);
      },
      done(text) {
        stream.write(`[${seconds()}] ${text}\n`);
      },
      stop() {},
    };
  }
  let text = '';
  let frame = 0;
  const draw = () => {
    const width = stream.columns ?? 80;
    const line = `${FRAMES[frame++ % FRAMES.length]} ${text} (${seconds()})`;
    stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  const clear = () => {
    clearInterval(timer);
    stream.write('\r\x1b[2K');
  };
  return {
    update(t) {
      text = t;
      draw();
    },
    done(t) {
      clear();
      stream.write(`✓ ${t} (${seconds()})\n`);
    },
    stop: clear,
  };
}
