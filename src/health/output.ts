/** Check output limits (output is capped at 4 KB). */
export const OUTPUT_MAX_BYTES = 4096;

/** The cap for a check: its OutputMaxSize when smaller than 4 KB, else 4 KB. */
export function outputCap(outputMaxSize: number | undefined): number {
  return outputMaxSize && outputMaxSize > 0 ? Math.min(outputMaxSize, OUTPUT_MAX_BYTES) : OUTPUT_MAX_BYTES;
}

/** First `max` bytes of `s` (UTF-8), never splitting a character. */
export function headBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so no character is cut in half.
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/**
 * Caps output as Consul caps a TTL update's: `<first max bytes> ... (captured max of total bytes)`.
 */
export function capOutput(s: string, max: number = OUTPUT_MAX_BYTES): string {
  const total = Buffer.byteLength(s, 'utf8');
  if (total <= max) return s;
  return `${headBytes(s, max)} ... (captured ${max} of ${total} bytes)`;
}

/** Collects a stream's bytes up to `max`, counting (not keeping) the rest. */
export class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += b.length;
    const room = this.max - this.kept;
    if (room <= 0) return;
    const part = b.length <= room ? b : b.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }

  get full(): boolean {
    return this.kept >= this.max;
  }

  /** The kept bytes; when some were dropped, says how many were captured, as Consul's script checks do. */
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.total > this.kept ? `Captured ${this.kept} of ${this.total} bytes\n...\n${s}` : s;
  }
}
