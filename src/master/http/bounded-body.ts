import { RefusalCode } from '../../shared/protocol/reasons';
import type { RequestContext } from './router';

/**
 * Reads a request body of at most `maxBytes` (--max-message-size), then calls `done`
 * with it. A body that is (or says it will be) larger is answered 413 at once, while it
 * may still be arriving, and `done` is never called. For POST /publish and /disconnect.
 */
export function readBoundedBody(
  context: RequestContext,
  maxBytes: number,
  done: (body: Buffer) => void,
): void {
  const { req } = context;
  let chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  const tooLarge = (): void => {
    refused = true;
    chunks = [];
    context.refuseDuringBody({
      status: 413,
      code: RefusalCode.BodyTooLarge,
      reason: `Body over --max-message-size (${maxBytes} bytes)`,
    });
  };
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return tooLarge();
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > maxBytes) return tooLarge();
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!refused) done(Buffer.concat(chunks));
  });
}
