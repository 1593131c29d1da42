/**
 * The reference a user would otherwise pick: one process, the `ws` library, the same
 * push behaviour (hello, "I am waiting N seconds" at once and every N seconds, "quit"
 * closes with 1000). POST /publish sends its body to every open client, the usual ws
 * broadcast loop (ws.send per client, all in this one process). Answers {"queued": N}.
 * Usage: node ws-reference.js --port PORT [--interval-min SECONDS] [--interval-max SECONDS]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { drawInterval, demoMessage } from '../../workers/demo-pushes';
import { numberArg } from '../lib/args';
import { referencePublish } from './reference-publish';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'interval-min': { type: 'string', default: '1' },
    'interval-max': { type: 'string', default: '1' },
  },
});
const port = numberArg('port', args.port, { min: 0, max: 65535 });
const min = numberArg('interval-min', args['interval-min'], { min: 0 });
const max = numberArg('interval-max', args['interval-max'], { min });
const httpServer = http.createServer();
const server = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
let nextId = 1;

httpServer.on(
  'request',
  referencePublish((text) => {
    let queued = 0;
    for (const ws of server.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      ws.send(text);
      queued++;
    }
    return queued;
  }),
);

server.on('connection', (ws) => {
  const id = nextId++;
  let timer: NodeJS.Timeout | undefined;
  const push = (): void => {
    const seconds = drawInterval(min, max);
    ws.send(demoMessage(seconds));
    timer = setTimeout(push, seconds * 1000);
  };
  ws.send(`Connected to worker PID ${process.pid} as client #${id}`);
  push();
  ws.on('message', (data) => {
    // The default binaryType: a Buffer, or an array of them for a fragmented message.
    const text = (Array.isArray(data) ? Buffer.concat(data) : (data as Buffer)).toString().trim();
    if (text === 'quit' || text === 'exit') ws.close(1000);
  });
  ws.on('close', () => clearTimeout(timer));
  ws.on('error', () => undefined);
});
httpServer.listen(port, '127.0.0.1', () => {
  const { port: bound } = httpServer.address() as AddressInfo;
  console.log(`Server started on 127.0.0.1:${bound}`);
});
process.on('SIGTERM', () => process.exit(0));
