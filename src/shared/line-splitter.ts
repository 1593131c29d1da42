import { characterBoundary } from './protocol/utf8';

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
    if (this.partialBytes + bytes.length > this.maxBytes) {
      let all = Buffer.concat([...this.partial, bytes]);
      this.partial = [];
      this.partialBytes = 0;
      while (all.length > this.maxBytes) {
        const cut = characterBoundary(all, this.maxBytes);
        lines.push(all.subarray(0, cut).toString('utf8'));
        all = all.subarray(cut);
      }
      bytes = all;
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

/** Calls `onLine` for each line a stream carries, the last one even without a newline. */
export function readLines(
  stream: NodeJS.ReadableStream | null,
  maxBytes: number,
  onLine: (line: string) => void,
): void {
  if (stream === null) return;
  const splitter = new LineSplitter(maxBytes);
  stream.on('data', (chunk: Buffer) => {
    for (const line of splitter.push(chunk)) onLine(line);
  });
  stream.on('end', () => {
    const rest = splitter.end();
    if (rest !== undefined) onLine(rest);
  });
}
