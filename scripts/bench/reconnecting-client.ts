import { BenchClient } from './load-client';
import { reconnectDelayMs } from './reconnect-policy';

/**
 * A bench client that stays connected as a page would: when its connection ends (a
 * restart closes it with 1001) or an attempt fails (refused, 503, no 101 in time) it
 * waits as reconnect-policy.ts says and tries again, until stopped. It never gives up.
 */
export class ReconnectingClient {
  /** When each connection got its first push (performance.now()). */
  readonly pushedAt: number[] = [];
  attempts = 0;
  refusals = 0;
  private connection: BenchClient | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly port: number,
    private readonly random: () => number,
    /** Called at each connection's first push. */
    private readonly onPush: (client: ReconnectingClient, at: number) => void = () => undefined,
  ) {}

  /** Loops until stop(); resolves then. */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let retryAfterS: number | undefined;
      const client = BenchClient.connect(this.port);
      this.connection = client;
      this.attempts++;
      try {
        await client.upgraded(20000);
        await client.firstPush(20000);
        this.pushedAt.push(client.firstPushAt);
        this.onPush(this, client.firstPushAt);
        failures = 0;
        await client.closed(2 ** 31 - 1);
      } catch {
        client.destroy();
        failures++;
        if (client.refusal !== undefined) this.refusals++;
        retryAfterS = client.refusal?.retryAfterS;
      }
      if (this.stopped) break;
      await this.sleep(reconnectDelayMs(failures, retryAfterS, this.random));
    }
  }

  /** The first push received at or after `since` (performance.now()), or undefined. */
  backAt(since: number): number | undefined {
    return this.pushedAt.find((at) => at >= since);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    this.connection?.destroy();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
