import { channelOfPath, type ChannelResult } from '../lib/channel';

/** The hello every worker sends first (as a push frame). */
const HELLO = /^Connected to worker PID (\d+) as client #(\d+)$/;

/**
 * What a person typed in the channel box, or the page URL's fragment (`location.hash`):
 * "#/news", "/news/", "news" all name /news; nothing is "/".
 */
export function parseChannel(text: string): ChannelResult {
  let path = text.trim();
  if (path.startsWith('#')) path = path.slice(1);
  if (path === '') return { channel: '/' };
  return channelOfPath(path.startsWith('/') ? path : '/' + path);
}

/** The worker's hello ("Connected to worker PID 77 as client #3"), or undefined. */
export function readHello(data: string): { pid: string; id: string } | undefined {
  const hello = HELLO.exec(data);
  return hello === null ? undefined : { pid: hello[1], id: hello[2] };
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
