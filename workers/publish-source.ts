import { CloseCode } from '../src/shared/protocol/constants';
import type { ClientSink, PushSource } from './push-source';

/**
 * Messages published through the master (POST /publish, channel publications), as the
 * master framed them for this client. A client too slow to take them is closed (1008)
 * rather than buffered without end.
 */
export class PublishSource implements PushSource {
  private client: ClientSink | undefined;

  start(client: ClientSink): void {
    this.client = client;
  }

  /** `count` whole frames, read off the publish pipe (none: the master's wake record). */
  deliver(frames: Buffer, count: number): void {
    const client = this.client;
    if (client === undefined || !client.publishFrames(frames, count)) return;
    client.log(
      'warn',
      `send buffer over --max-buffered (${client.bufferedAmount} bytes), closing with 1008`,
    );
    client.close(CloseCode.PolicyViolation, 'client too slow');
  }

  stop(): Promise<void> {
    this.client = undefined;
    return Promise.resolve();
  }
}
