import { performance } from 'node:perf_hooks';
import { sleep } from '../lib/sleep';
import type { BenchClient } from './load-client';

/** One timed broadcast: what each client saw, from the moment of the POST. */
export interface Broadcast {
  /** Milliseconds from the POST to the last client's receipt (0: nobody got it). */
  lastMs: number;
  /** Milliseconds from the POST to each receipt. */
  delays: number[];
  /** Milliseconds until the server answered the POST. */
  answerMs: number;
}

/**
 * POSTs `tag` as a text message to the server's /publish and waits (5 s at most) until
 * every client has received it, or, with `untilQueued`, as many as the answer's
 * `queued` says it was queued for (a server that counts its own clients).
 */
export async function broadcastOnce(
  port: number,
  clients: BenchClient[],
  tag: string,
  headers: Record<string, string>,
  untilQueued = false,
): Promise<Broadcast> {
  const delays: number[] = [];
  let lastMs = 0;
  const sentAt = performance.now();
  for (const client of clients) {
    client.onText = (text, at) => {
      if (text !== tag) return;
      delays.push(at - sentAt);
      lastMs = Math.max(lastMs, at - sentAt);
    };
  }
  const response = await fetch(`http://127.0.0.1:${port}/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain', ...headers },
    body: tag,
  });
  const answer = await response.text();
  const answerMs = performance.now() - sentAt;
  const expected = untilQueued ? (JSON.parse(answer) as { queued: number }).queued : clients.length;
  const deadline = performance.now() + 5000;
  while (delays.length < expected && performance.now() < deadline) await sleep(2);
  return { lastMs, delays, answerMs };
}
