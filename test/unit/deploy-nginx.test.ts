import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEPLOY_NGINX, renderSite } from '../helpers/nginx';

/** The shipped nginx site files, by name. */
const sites = new Map(
  readdirSync(DEPLOY_NGINX)
    .filter((name) => name.endsWith('.conf'))
    .map((name) => [name, readFileSync(path.join(DEPLOY_NGINX, name), 'utf8')]),
);

/** A directive's arguments in a config text (comments dropped), one entry per occurrence. */
function directive(text: string, name: string): string[] {
  const code = text.replace(/#.*$/gm, '');
  return [...code.matchAll(new RegExp(`^\\s*${name}\\s+([^;]*);`, 'gm'))].map((m) => m[1].trim());
}

/** nginx time ("75s", "2m", "90") in seconds. */
function seconds(value: string): number {
  const match = /^(\d+)(s|m|h)?$/.exec(value);
  if (match === null) throw new Error(`not an nginx time: ${value}`);
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600 };
  return Number(match[1]) * unit[match[2] ?? 's'];
}

const SERVER_PING_INTERVAL_S = 30;

describe('the shipped nginx files (deploy/nginx)', () => {
  test('both are shipped', () => {
    expect([...sites.keys()].sort()).toEqual(['push-websocket-lb.conf', 'push-websocket-tls.conf']);
  });

  test.each([...sites.keys()])(
    '%s: an idle WebSocket outlasts the server ping interval',
    (name) => {
      const text = sites.get(name) as string;
      for (const timeout of ['proxy_read_timeout', 'proxy_send_timeout']) {
        const values = directive(text, timeout);
        expect([timeout, values.length]).toEqual([timeout, 1]);
        expect(seconds(values[0])).toBeGreaterThan(SERVER_PING_INTERVAL_S);
      }
    },
  );

  test.each([...sites.keys()])('%s: upgrade headers, forwarding headers, no buffering', (name) => {
    const text = sites.get(name) as string;
    expect(directive(text, 'proxy_http_version')).toEqual(['1.1']);
    expect(directive(text, 'proxy_set_header')).toEqual(
      expect.arrayContaining([
        'Upgrade $http_upgrade',
        'Connection $push_websocket_connection',
        'Host $host',
        'X-Forwarded-For $proxy_add_x_forwarded_for',
        'X-Forwarded-Proto $scheme',
      ]),
    );
    expect(directive(text, 'proxy_buffering')).toEqual(['off']);
  });

  test('every placeholder is explained in deploy/nginx/README.md', () => {
    const readme = readFileSync(path.join(DEPLOY_NGINX, 'README.md'), 'utf8');
    const placeholders = new Set<string>();
    for (const text of sites.values()) {
      for (const match of text.matchAll(/@[A-Z_]+@/g)) placeholders.add(match[0]);
    }
    expect([...placeholders].sort()).toEqual([
      '@CERTIFICATE@',
      '@CERTIFICATE_KEY@',
      '@SERVER_NAME@',
    ]);
    for (const placeholder of placeholders) expect(readme).toContain(`\`${placeholder}\``);
  });

  test('the test renderer refuses a file that no longer fits it', () => {
    const tls = sites.get('push-websocket-tls.conf') as string;
    const values = { httpPort: 1, httpsPort: 2, certificate: 'c', key: 'k', upstreams: ['a:1'] };
    expect(() => renderSite(`${tls}\n# @NEW_THING@`, values)).toThrow(/@NEW_THING@/);
    expect(() => renderSite(tls, { ...values, upstreams: ['a:1', 'b:2'] })).toThrow(/1 servers/);
    const rendered = renderSite(tls, values);
    expect(directive(rendered, 'listen')).toEqual(['127.0.0.1:1', '127.0.0.1:2 ssl']);
    expect(rendered).toMatch(/upstream push_websocket \{[^}]*server a:1;/);
  });
});
