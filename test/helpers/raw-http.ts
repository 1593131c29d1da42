import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { HANG_BOUND_MS } from './wait';

/** A plain HTTP answer, read until the server closed the connection. */
export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `METHOD target HTTP/1.1` with `Connection: close` as raw bytes, so that no client
 * library normalises "..", "%2e%2e" or "%2f" away before the server sees the target.
 */
export function rawHttp(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${method} ${target} in ${HANG_BOUND_MS} ms`));
    }, HANG_BOUND_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers: parsed,
        body: text.slice(end + 4),
      });
    });
    const lines = Object.entries({ Host: `127.0.0.1:${port}`, Connection: 'close', ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`${method} ${target} HTTP/1.1\r\n${lines}\r\n`);
  });
}

/**
 * A WebSocket upgrade request for `target`, sent raw: the refusal's status, headers and
 * body (a 101 would not end: use it for requests the server refuses).
 */
/** rawUpgrade on a server started by the helpers. */
export function upgradeOn(
  server: { port: number },
  target: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return rawUpgrade(server.port, target, headers);
}

export function rawUpgrade(
  port: number,
  target: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return rawHttp(port, target, {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  });
}
