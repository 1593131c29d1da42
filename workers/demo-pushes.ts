/**
 * The original's demo: "I am waiting N seconds", N drawn per push between the
 * bounds (whole seconds when both bounds are whole, as the PHP rand(2, 5) did).
 */
export function drawInterval(min: number, max: number, random: () => number = Math.random): number {
  if (Number.isInteger(min) && Number.isInteger(max)) {
    return min + Math.floor(random() * (max - min + 1));
  }
  // Milliseconds are enough; rounding must not step outside the bounds.
  const drawn = Math.round((min + random() * (max - min)) * 1000) / 1000;
  return Math.min(max, Math.max(min, drawn));
}

export function demoMessage(seconds: number): string {
  return `I am waiting ${seconds} seconds`;
}

/** Pushes at once and then after each drawn interval, until stopped. */
export class DemoPushes {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly min: number,
    private readonly max: number,
    private readonly push: (text: string) => void,
  ) {}

  start(): void {
    const seconds = drawInterval(this.min, this.max);
    this.push(demoMessage(seconds));
    if (!this.stopped) this.timer = setTimeout(() => this.start(), seconds * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
