/**
 * The channel rule of the server (src/master/channels/channel-name.ts), on the client
 * side: a browser WebSocket cannot read the 400 that refuses a bad channel, so the
 * client checks first and can say why. Same rule, the client's own wording (the page
 * shows it); test/unit/client/channel.test.ts checks the two agree on every path.
 */

export type ChannelResult = { channel: string } | { error: string };

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const SEGMENT = /^[A-Za-z0-9._~-]+$/;
const MAX_CHANNEL_CHARS = 128;

/** The channel of a URL path ("/news/", "/%7Enews"), by the server's rule, or why not. */
export function channelOfPath(path: string): ChannelResult {
  if (!path.startsWith('/')) return { error: 'a channel starts with "/"' };
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== '%') {
      decoded += path[i];
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      return { error: `bad percent-encoding at "${path.slice(i, i + 3)}"` };
    }
    const char = String.fromCharCode(parseInt(hex, 16));
    if (!UNRESERVED.test(char)) {
      return { error: `"%${hex.toUpperCase()}" is not allowed in a channel` };
    }
    decoded += char;
    i += 2;
  }
  const name = /[^/]\/$/.test(decoded) ? decoded.slice(0, -1) : decoded;
  if (name.length > MAX_CHANNEL_CHARS) {
    return { error: `longer than ${MAX_CHANNEL_CHARS} characters` };
  }
  if (name === '/') return { channel: name };
  for (const segment of name.slice(1).split('/')) {
    if (segment === '') return { error: 'empty segment ("//")' };
    if (segment === '.' || segment === '..') {
      return { error: 'segments "." and ".." are not allowed' };
    }
    if (!SEGMENT.test(segment)) {
      const bad = Array.from(segment).find((char) => !UNRESERVED.test(char));
      return {
        error: `character ${JSON.stringify(bad)} is not allowed (only A-Z a-z 0-9 - . _ ~ and "/" between segments)`,
      };
    }
  }
  return { channel: name };
}
