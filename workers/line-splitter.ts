/**
 * Cuts a byte stream into lines (without their "\n" or "\r\n"). A line longer than
 * `maxBytes` is cut there, so a command that never writes a newline cannot make the
 * worker hold its whole output.
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      this.append(chunk.subarray(start, newline), lines);
      lines.push(this.take().replace(/\r$/, ''));
      start = newline + 1;
    }
    this.append(chunk.subarray(start), lines);
    return lines;
  }

  /** What is left at the end of the stream, if anything. */
  end(): string | undefined {
    return this.partialBytes > 0 ? this.take() : undefined;
  }

  private append(bytes: Buffer, lines: string[]): void {
    while (this.partialBytes + bytes.length > this.maxBytes) {
      const room = this.maxBytes - this.partialBytes;
      this.partial.push(bytes.subarray(0, room));
      this.partialBytes += room;
      lines.push(this.take());
      bytes = bytes.subarray(room);
    }
    if (bytes.length > 0) {
      this.partial.push(bytes);
      this.partialBytes += bytes.length;
    }
  }

  private take(): string {
    const line = Buffer.concat(this.partial).toString('utf8');
    this.partial = [];
    this.partialBytes = 0;
    return line;
  }
}
