/**
 * The reference a user would otherwise pick: one process, the `ws` library, the same
 * push behaviour (hello, "I am waiting N seconds" at once and every N seconds, "quit"
 * closes with 1000). Usage: node ws-reference.js PORT INTERVAL_MIN INTERVAL_MAX
 */
import { WebSocketServer } from 'ws';
import { drawInterval, demoMessage } from '../../workers/demo-pushes';

const [port, min, max] = process.argv.slice(2).map(Number);
const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
let nextId = 1;

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
    const text = String(data).trim();
    if (text === 'quit' || text === 'exit') ws.close(1000);
  });
  ws.on('close', () => clearTimeout(timer));
  ws.on('error', () => undefined);
});
server.on('listening', () => console.log(`Server started on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
