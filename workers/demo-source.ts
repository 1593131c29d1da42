import { DemoPushes } from './demo-pushes';
import type { ClientSink, PushSource } from './push-source';

/** The original's demo: a hello naming the worker, then "I am waiting N seconds". */
export class DemoSource implements PushSource {
  private pushes: DemoPushes | undefined;

  constructor(
    private readonly clientId: number,
    private readonly intervalMin: number,
    private readonly intervalMax: number,
  ) {}

  start(client: ClientSink): void {
    client.send(`Connected to worker PID ${process.pid} as client #${this.clientId}`);
    this.pushes = new DemoPushes(this.intervalMin, this.intervalMax, (text) => {
      client.send(text);
      client.log('debug', `Send '${text}' to client #${this.clientId}`);
    });
    this.pushes.start();
  }

  stop(): Promise<void> {
    this.pushes?.stop();
    return Promise.resolve();
  }
}
