import { accepts } from '../../scripts/lib/free-port';
import { childrenOf, isAlive } from '../helpers/proc';
import { waitFor } from '../helpers/wait';
import {
  describeWithWebsocketd,
  startWebsocketd,
  stopAllWebsocketd,
  type WebsocketdProcess,
} from '../helpers/websocketd';
import { WsClient } from '../helpers/ws-client';

/** The websocketd helper works: the parity tests can lean on it. */

const refused = async (port: number): Promise<boolean> => !(await accepts(port));

describeWithWebsocketd('the websocketd helper', () => {
  afterAll(stopAllWebsocketd);

  let server: WebsocketdProcess;
  beforeAll(async () => {
    server = await startWebsocketd(['cat']);
  });

  test('starts websocketd on a free port; a ws client gets its messages echoed', async () => {
    const client = await WsClient.open(server.url);
    client.ws.send('hello, websocketd');
    await client.waitForMessages(1);
    expect(client.messages).toEqual(['hello, websocketd']);
    client.terminate();
  });

  test('two at once get two ports', async () => {
    const other = await startWebsocketd(['cat']);
    expect(other.port).not.toBe(server.port);
    await other.stop();
  });

  test('stop() ends it by PID, its commands too, and frees the port', async () => {
    const client = await WsClient.open(server.url);
    client.ws.send('keep the command running');
    await client.waitForMessages(1);
    const command = await waitFor(() => childrenOf(server.pid)[0]?.pid, 'the cat command');
    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    await waitFor(() => !isAlive(command), 'the command gone');
    expect(await refused(server.port)).toBe(true);
    client.terminate();
  });
});
