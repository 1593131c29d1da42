import type http from 'node:http';

/**
 * POST /publish of the bench's reference servers (the floor, ws): the body goes to
 * `broadcast`, which returns how many clients it was queued for; the answer is
 * `{"queued": N}` as ours. Anything else is 404.
 */
export function referencePublish(
  broadcast: (text: string) => number,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/publish') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const queued = broadcast(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ queued })}\n`);
    });
  };
}
