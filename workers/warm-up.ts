import type { WorkerConfig } from '../src/shared/config';
import { Opcode } from '../src/shared/protocol/constants';
import { encodeFrame, encodeText } from '../src/shared/protocol/frame';
import { Receiver } from '../src/shared/protocol/receiver';
import { demoMessage, drawInterval } from './demo-pushes';

/**
 * Runs the per-client code paths once on dummy data while idle, so that V8 has parsed
 * and compiled them before a client arrives: its hello and first push go out sooner.
 * Only for a worker still idle a little after it is ready (a spare): one handed a
 * client at once would spend the CPU for nothing.
 */
const WARM_UP_AFTER_MS = 100;

export function scheduleWarmUp(config: WorkerConfig, stillIdle: () => boolean): void {
  setTimeout(() => {
    if (!stillIdle()) return;
    const receiver = new Receiver({ maxMessageSize: config.maxMessageSize });
    receiver.push(
      encodeFrame(Opcode.Text, Buffer.from('warm up'), { mask: Buffer.from([1, 2, 3, 4]) }),
    );
    encodeText(demoMessage(drawInterval(config.intervalMin, config.intervalMax)));
  }, WARM_UP_AFTER_MS).unref();
}
