/**
 * The client page (src/client/index.html): what a person sees of one client of one
 * channel. The connection, the position and reconnecting are the client library's
 * (src/client/lib/); this file only shows them. Bundled into the page by
 * scripts/bundle-client.js.
 */
import { PushClient, type StateEvent } from '../lib/client';
import { parseChannel, plural, readHello } from './channel-text';

const QUIT_WORDS = ['quit', 'exit'];

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}
const button = (id: string): HTMLButtonElement => $(id) as HTMLButtonElement;
const input = (id: string): HTMLInputElement => $(id) as HTMLInputElement;

/** The page's channel: from the URL's fragment, "/#/news" (the page is served at /). */
const wanted = parseChannel(location.hash);
const origin = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
/**
 * `?token-url=URL` (a page query parameter; relative to the page): where the page GETs
 * a token before each connection, the browser's cookies sent along. The answer is JSON
 * `{"token": "..."}` or the token as plain text. A private channel needs one; after
 * close 4001 ("token expired") the next connection fetches a fresh one
 * (docs/authentication.md).
 */
const tokenUrl = new URLSearchParams(location.search).get('token-url');
/** `?transport=sse`: Server-Sent Events only (else WebSockets, falling back to SSE). */
const onlySse = new URLSearchParams(location.search).get('transport') === 'sse';
let client: PushClient | undefined;
/** While waiting to reconnect: when the next try is due. */
let retryAt = 0;
/** When the server dropped us (0 while connected): "open, N s after the drop". */
let droppedAt = 0;
let pushes = 0;
let published = 0;
let lastPush = 0;
let clientId: string | null = null;

function stamp(): string {
  return new Date().toLocaleTimeString([], { hour12: false });
}

function log(text: string, kind: string, tag?: string): void {
  const item = document.createElement('li');
  item.className = kind;
  const time = document.createElement('time');
  time.textContent = stamp();
  item.append(time);
  if (tag) {
    const label = document.createElement('span');
    label.className = 'tag';
    label.textContent = tag;
    item.append(label);
  }
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  item.append(body);
  const list = $('log');
  list.prepend(item);
  while (list.children.length > 500) list.lastChild?.remove();
}

/** States: connecting, open (shown "connected"), reconnecting, closing, closed. */
function showState(state: string, detail?: string): void {
  const label = state === 'open' ? 'connected' : state;
  $('state').dataset.state = state;
  $('state').textContent = detail ? `${label} (${detail})` : label;
  button('send').disabled = state !== 'open' || $('transport').dataset.transport === 'sse';
  button('quit').disabled = state === 'closed' || state === 'closing';
  button('reconnect').disabled = state !== 'closed' && state !== 'reconnecting';
}

function showCountdown(): void {
  if (client?.state !== 'reconnecting') return;
  const left = Math.max(0, retryAt - Date.now()) / 1000;
  $('state').dataset.state = 'reconnecting';
  $('state').textContent = `reconnecting in ${left.toFixed(1)} s`;
}

function showPosition(): void {
  const position = client?.position ?? null;
  $('position').textContent = position ? String(position.offset) : '–';
  $('position').title = position ? `epoch ${position.epoch}` : '';
}

function notice(text: string, ok: boolean): void {
  $('recovery').textContent = text;
  $('recovery').className = ok ? 'ok' : 'bad';
  $('recovery').hidden = false;
  log(text, ok ? 'notice ok' : 'notice bad');
}

/** Which transport the connection uses: WebSocket, or Server-Sent Events. */
function showTransport(transport: string | undefined): void {
  const sse = transport === 'sse';
  $('transport').dataset.transport = sse ? 'sse' : 'websocket';
  $('transport').textContent = sse ? 'Server-Sent Events' : 'WebSocket';
  // An event stream only receives: nothing to send.
  $('message').toggleAttribute('disabled', sse);
}

function closeDetail(event: StateEvent): string {
  if (event.code === undefined) return 'stopped';
  return `code ${event.code}${event.reason ? `, ${event.reason}` : ''}`;
}

function onState(event: StateEvent, channel: string): void {
  switch (event.state) {
    case 'idle':
      return;
    case 'connecting': {
      clientId = null;
      $('client-id').textContent = '–';
      $('worker-pid').textContent = '–';
      showState('connecting', event.attempt > 0 ? `attempt ${event.attempt + 1}` : '');
      const position = client?.position;
      const resuming = position ? `, resuming after offset ${position.offset}` : '';
      log(`Connecting to ${location.host}${channel}${resuming}…`, 'event');
      return;
    }
    case 'open': {
      showTransport(event.transport);
      showState('open');
      const after = droppedAt
        ? `, ${((Date.now() - droppedAt) / 1000).toFixed(2)} s after the drop`
        : '';
      log(`Connection open${after}`, 'event');
      droppedAt = 0;
      return;
    }
    case 'reconnecting':
      retryAt = Date.now() + (event.delayMs ?? 0);
      showState('reconnecting');
      showCountdown();
      if (event.retryAfter) {
        const seconds = Math.floor((event.delayMs ?? 0) / 1000);
        log(`The server asks to wait ${seconds} s (Retry-After)`, 'event');
        return;
      }
      if (!droppedAt) droppedAt = Date.now();
      log(
        `${event.wasOpen ? 'Connection dropped' : 'Could not connect'}: ${closeDetail(event)}`,
        'event',
      );
      refreshStatus();
      return;
    case 'closing':
      showState('closing');
      return;
    case 'closed':
      showState('closed', closeDetail(event));
      if (event.code !== undefined) log(`Connection closed: ${closeDetail(event)}`, 'event');
      refreshStatus();
      return;
  }
}

/** A fresh token from the token URL (credentials included, never cached). */
async function fetchToken(url: string): Promise<string> {
  const response = await fetch(new URL(url, location.href), {
    cache: 'no-store',
    credentials: 'include',
  });
  if (!response.ok) throw new Error(`the token URL answered HTTP ${response.status}`);
  const text = (await response.text()).trim();
  const token = text.startsWith('{') ? (JSON.parse(text) as { token?: unknown }).token : text;
  if (typeof token !== 'string' || token === '') throw new Error('the token URL gave no token');
  return token;
}

function start(channel: string): PushClient {
  const push = new PushClient(origin + channel, {
    token: tokenUrl === null ? undefined : () => fetchToken(tokenUrl),
    ...(onlySse ? { only: 'sse' as const } : {}),
  });
  push.on('state', (event) => onState(event, channel));
  push.on('error', ({ error }) =>
    log(`Could not get a token: ${(error as Error).message ?? String(error)}`, 'notice bad'),
  );
  push.on('push', ({ data }) => {
    const hello = readHello(data);
    if (hello) {
      $('worker-pid').textContent = hello.pid;
      clientId = hello.id;
      $('client-id').textContent = `#${hello.id}`;
      log(data, 'received push');
      refreshStatus(); // the process table shows the new worker at once
      return;
    }
    pushes++;
    lastPush = Date.now();
    $('push-count').textContent = String(pushes);
    log(data, 'received push');
  });
  push.on('pub', (pub) => {
    published++;
    if (pub.channel === channel) {
      if (pub.restarted) log('The channel started a new stream (epoch changed)', 'event');
      log(pub.data, 'received pub', `${channel} #${pub.offset}`);
    } else {
      log(pub.data, 'received broadcast', pub.channel === '*' ? 'everyone' : pub.channel);
    }
  });
  push.on('direct', ({ data }) => {
    published++;
    log(data, 'received direct', 'to you');
  });
  push.on('duplicate', ({ offset }) => log(`Ignored a repeat of offset ${offset}`, 'event'));
  push.on('position', ({ offset }) => log(`Subscribed to ${channel} at offset ${offset}`, 'event'));
  push.on('recovery', (recovery) => {
    if (recovery.recovered) notice(`recovered ${plural(recovery.count, 'message')}`, true);
    else notice(`could not recover: ${recovery.reason ?? 'unknown reason'}`, false);
  });
  push.on('gap', (gap) => {
    const range = gap.from === gap.to ? `offset ${gap.from}` : `offsets ${gap.from}-${gap.to}`;
    if (gap.source === 'server') log(`Lost ${range} (${gap.reason})`, 'notice bad');
    else log(`Missed ${range}: reconnecting to recover them`, 'event');
  });
  push.on('message', ({ text }) => log(text, 'received'));
  // After every frame's own handler: the facts it may have changed.
  for (const type of ['push', 'pub', 'direct', 'position', 'recovery', 'gap'] as const) {
    push.on(type, () => {
      showPosition();
      $('published-count').textContent = String(published);
    });
  }
  return push;
}

function send(text: string): void {
  if (client?.state !== 'open') return;
  if (QUIT_WORDS.includes(text)) client.quit(text);
  else client.send(text);
  log(`> ${text}`, 'sent');
}

function openChannel(event: Event): void {
  event.preventDefault();
  const chosen = parseChannel(input('channel-input').value);
  $('channel-error').hidden = !('error' in chosen);
  if ('error' in chosen) {
    $('channel-error').textContent = `Not a channel: ${chosen.error}`;
    return;
  }
  window.open(`${location.pathname}${location.search}#${chosen.channel}`, '_blank');
}

function cell(row: HTMLTableRowElement, text: string, className?: string): void {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.textContent = text;
  row.append(td);
}

interface Status {
  clients: {
    id: number;
    pid: number;
    channel?: string;
    user?: string | null;
    remote: string;
    pushed: number | null;
    since: string;
  }[];
  spares: number[];
  uptime_s: number;
}

/** Polls /status; stopped when it is private. */
const statusTimer = setInterval(() => refreshStatus(), 2000);
let statusIsPrivate = false;

/** /status needs the admin token (--admin-token): say so once, and stop asking. */
function statusPrivate(): void {
  statusIsPrivate = true;
  clearInterval(statusTimer);
  $('status-table').hidden = true;
  $('status-spares').hidden = true;
  $('status-private').hidden = false;
  $('status-note').textContent = '';
}

/** The /status request in flight, and whether another was asked for meanwhile. */
let statusRequest: Promise<void> | null = null;
let statusAgain = false;

/**
 * One /status request at a time: asked for while one is in flight (the hello comes
 * right after the first poll), it runs once more when that one ends, unless that one
 * found /status private.
 */
function refreshStatus(): void {
  if (statusIsPrivate) return;
  if (statusRequest) {
    statusAgain = true;
    return;
  }
  statusRequest = loadStatus().finally(() => {
    statusRequest = null;
    if (!statusAgain) return;
    statusAgain = false;
    refreshStatus();
  });
}

async function loadStatus(): Promise<void> {
  try {
    const response = await fetch('/status', { cache: 'no-store' });
    if (response.status === 401) return statusPrivate();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const status = (await response.json()) as Status;
    const body = $('status-clients');
    body.replaceChildren();
    for (const each of status.clients) {
      const row = document.createElement('tr');
      if (clientId !== null && String(each.id) === clientId) row.className = 'mine';
      cell(row, `#${each.id}`);
      cell(row, String(each.pid));
      cell(row, each.channel === undefined ? '?' : each.channel);
      cell(row, each.user ?? '–', 'wide');
      cell(row, each.remote, 'wide');
      cell(row, each.pushed === null ? '?' : String(each.pushed));
      cell(row, new Date(each.since).toLocaleTimeString([], { hour12: false }), 'wide');
      body.append(row);
    }
    $('status-note').textContent = `(${status.clients.length} clients, up ${status.uptime_s} s)`;
    $('status-spares').textContent = `Idle spare workers: ${status.spares.join(', ') || 'none'}`;
  } catch (error) {
    $('status-note').textContent = `(status unavailable: ${(error as Error).message})`;
  }
}

$('send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input('message').value.trim();
  if (text) send(text);
  input('message').value = '';
});
$('quit').addEventListener('click', () => {
  if (client?.state === 'open') send('quit');
  else client?.quit();
});
$('reconnect').addEventListener('click', () => client?.connect());
$('add-client').addEventListener('click', () => window.open(location.href, '_blank'));
$('channel-form').addEventListener('submit', openChannel);
// As the original did on unload: tell the server this client is leaving.
// (pagehide, not unload: browsers are retiring unload.)
window.addEventListener('pagehide', () => client?.quit());
// Back from the back/forward cache: the old connection is gone.
window.addEventListener('pageshow', (event) => {
  if (event.persisted && (client?.state === 'closed' || client?.state === 'closing')) {
    client.connect();
  }
});
// Another channel typed into the address bar: a fresh page on it.
window.addEventListener('hashchange', () => location.reload());
// The network is back: no need to sit out the rest of the wait.
window.addEventListener('online', () => {
  if (client?.state === 'reconnecting') client.connect();
});

if ('channel' in wanted) {
  $('channel').textContent = wanted.channel;
  document.title = `push-websocket ${wanted.channel}`;
  client = start(wanted.channel);
  client.connect();
} else {
  showState('closed', `not a channel: ${wanted.error}`);
}

setInterval(() => {
  $('since-last').textContent = lastPush
    ? `${((Date.now() - lastPush) / 1000).toFixed(1)} s ago`
    : '–';
  showCountdown();
}, 200);

refreshStatus();
