import type { ProbeRecord } from './master-probe';
import { round, spread, type Spread } from './stats';

/**
 * What the master's probe says about one phase: how long its synchronous forks
 * blocked the event loop, and how many of the phase's handshakes overlapped one (a
 * client whose connect → 101 span contains part of a fork waited for it, or for a
 * delay it caused). Pure: intervals in, figures out.
 */
export interface ForkWaits {
  forks: number;
  /** How long each fork call blocked the master's event loop (ms). */
  forkBlockMs: Spread;
  handshakes: number;
  /** Handshakes whose [connect, 101] overlaps a fork call. */
  behindFork: number;
  /** connect → 101 of those, and of the others (ms). */
  upgradeBehindFork: Spread;
  upgradeClear: Spread;
  /** Event-loop delay over the phase's seconds: worst p99 and max (ms). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

type Interval = [number, number];

function overlaps(a: Interval, b: Interval): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

export function forkWaits(probe: ProbeRecord, handshakes: Interval[], phase: Interval): ForkWaits {
  const forks = probe.forks.filter((fork) => overlaps(fork, phase));
  const behind: number[] = [];
  const clear: number[] = [];
  for (const handshake of handshakes) {
    const ms = handshake[1] - handshake[0];
    if (forks.some((fork) => overlaps(fork, handshake))) behind.push(ms);
    else clear.push(ms);
  }
  const seconds = probe.seconds.filter((s) => s.at >= phase[0] && s.at <= phase[1] + 1000);
  return {
    forks: forks.length,
    forkBlockMs: spread(forks.map(([start, end]) => end - start)),
    handshakes: handshakes.length,
    behindFork: behind.length,
    upgradeBehindFork: spread(behind),
    upgradeClear: spread(clear),
    loopDelayP99Ms: round(Math.max(0, ...seconds.map((s) => s.delayP99Ms))),
    loopDelayMaxMs: round(Math.max(0, ...seconds.map((s) => s.delayMaxMs))),
  };
}
