/**
 * Reading a BPF_MAP_TYPE_RINGBUF map: poll() waits (on a native worker thread, not the JS thread)
 * up to a timeout and returns the records that arrived, decoded; events() is the same as an async
 * iterator that ends when the signal aborts or the reader closes.
 */
import { KdpError } from '../errors.ts';
import type { Codec } from './codec.ts';
import { BPF_ERR, bpfError } from './errors.ts';
import type { NativeRingBuffer } from './native.ts';

export class RingBufferReader<T> {
  #ring: NativeRingBuffer | undefined;

  constructor(
    ring: NativeRingBuffer,
    readonly name: string,
    private readonly codec: Codec<T>,
  ) {
    this.#ring = ring;
  }

  /** Records that arrived within `timeoutMs` (possibly none). Records shorter than the codec are an error. */
  async poll(timeoutMs = 100): Promise<T[]> {
    const ring = this.#ring;
    if (!ring) throw new KdpError(BPF_ERR.closed, `ring buffer ${this.name} is closed`);
    let raw: Buffer[];
    try {
      raw = await ring.poll(timeoutMs);
    } catch (e) {
      throw bpfError(BPF_ERR.syscall, `poll ring buffer ${this.name}`, e);
    }
    return raw.map((b) => {
      if (b.length < this.codec.size)
        throw new KdpError(
          BPF_ERR.codec,
          `ring buffer ${this.name}: a ${b.length}-byte record, the codec needs ${this.codec.size}`,
        );
      return this.codec.decode(b, 0);
    });
  }

  async *events(options: { signal?: AbortSignal; pollMs?: number } = {}): AsyncGenerator<T> {
    while (this.#ring && !options.signal?.aborted) {
      for (const e of await this.poll(options.pollMs ?? 100)) yield e;
    }
  }

  close(): void {
    this.#ring?.close();
    this.#ring = undefined;
  }
}
