/**
 * How many users (clients) each channel has on this instance, so that the broker
 * subscribes on the first and unsubscribes after the last. Pure.
 */
export class SubscriptionCounts {
  private readonly counts = new Map<string, number>();

  /** Counts one user; true when it is the channel's first. */
  add(channel: string): boolean {
    const count = this.counts.get(channel) ?? 0;
    this.counts.set(channel, count + 1);
    return count === 0;
  }

  /** Counts one user fewer; true when it was the channel's last (an unknown one: false). */
  remove(channel: string): boolean {
    const count = this.counts.get(channel);
    if (count === undefined) return false;
    if (count > 1) {
      this.counts.set(channel, count - 1);
      return false;
    }
    this.counts.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.counts.has(channel);
  }

  channels(): string[] {
    return [...this.counts.keys()];
  }

  get size(): number {
    return this.counts.size;
  }
}
