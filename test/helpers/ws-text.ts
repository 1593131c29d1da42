import type { RawData } from 'ws';

/** A message from ws as text: one Buffer, or the Buffers of a fragmented one joined. */
export function wsText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString();
}
