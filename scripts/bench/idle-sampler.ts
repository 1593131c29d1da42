import { commandLine, childPids } from '../lib/proc';
import { round } from './stats';

export interface IdleCount {
  mean: number;
  max: number;
  samples: number;
}

/** Two counts as one (means weighted by their samples). */
export function mergeIdle(a: IdleCount, b: IdleCount): IdleCount {
  const samples = a.samples + b.samples;
  return {
    mean: round((a.mean * a.samples + b.mean * b.samples) / Math.max(1, samples)),
    max: Math.max(a.max, b.max),
    samples,
  };
}

/**
 * Counts a master's idle workers (title "… worker idle") every `periodMs`, for the
 * average number of spares a spare policy keeps over a run. Reads the master's
 * children list and each child's command line: cheap at tens of processes (the bench
 * stops it before the steps, which hold thousands).
 */
export class IdleSampler {
  private readonly counts: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly masterPid: () => number,
    private readonly periodMs = 500,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      const idle = childPids(this.masterPid()).filter((pid) =>
        (commandLine(pid) ?? '').includes('worker idle'),
      ).length;
      this.counts.push(idle);
    }, this.periodMs);
    return this;
  }

  stop(): IdleCount {
    clearInterval(this.timer);
    this.timer = undefined;
    const sum = this.counts.reduce((a, b) => a + b, 0);
    return {
      mean: round(sum / Math.max(1, this.counts.length)),
      max: Math.max(0, ...this.counts),
      samples: this.counts.length,
    };
  }
}
