import {
  adoptProblem,
  adoptsVersion,
  CONTROL_VERSION,
  controlRecord,
  recordPayload,
} from '../../src/shared/control-channel';
import { encodeText } from '../../src/shared/protocol/frame';
import { FrameSplitter, WAKE_RECORD } from '../../src/shared/publish-stream';

describe('the control socket stream', () => {
  test('frames and worker records come apart, in order, however the bytes are cut', () => {
    const long = 'x'.repeat(70_000); // a 64-bit length header
    const stream = Buffer.concat([
      controlRecord({ type: 'adopted', master: 42 }),
      WAKE_RECORD,
      encodeText('pub:1'),
      controlRecord({ type: 'disconnect', code: 1012, reason: long }),
      encodeText('pub:2'),
    ]);
    for (const cut of [1, 7, 100, stream.length]) {
      const seen: string[] = [];
      const splitter = new FrameSplitter(
        (frames, count) => seen.push(count === 0 ? 'wake' : `${count} frame(s)`),
        (record) => {
          const message = JSON.parse((recordPayload(record) as Buffer).toString()) as {
            type: string;
          };
          seen.push(message.type);
        },
      );
      for (let at = 0; at < stream.length; at += cut) {
        splitter.push(stream.subarray(at, Math.min(stream.length, at + cut)));
      }
      expect(seen).toEqual(['adopted', 'wake', '1 frame(s)', 'disconnect', '1 frame(s)']);
    }
  });

  test('a worker of another control version is drained, not adopted', () => {
    expect(adoptsVersion(CONTROL_VERSION)).toBe(true);
    expect(adoptsVersion(0)).toBe(false);
    expect(adoptsVersion(CONTROL_VERSION + 1)).toBe(false);
  });

  test('a first line that is no adopt request is named', () => {
    expect(adoptProblem('hello')).toBe('not an object');
    expect(adoptProblem({ type: 'log' })).toBe('first line is not an adopt request');
    expect(adoptProblem({ type: 'adopt', version: 1, pid: -3 })).toBe('bad pid');
    expect(
      adoptProblem({ type: 'adopt', version: 1, pid: 10, client: { id: 1, channel: '/' } }),
    ).toBeUndefined();
  });
});
