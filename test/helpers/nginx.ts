import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accepts, freePort } from '../../scripts/lib/free-port';
import { LoggedProcess } from '../../scripts/lib/server-process';
import { ROOT } from './server';
import { RunningProcesses } from './running';
import { waitFor } from './wait';

/**
 * nginx for the tests: one of the shipped site files of deploy/nginx/, rendered with
 * free loopback ports, the test servers as upstreams and a test certificate, inside a
 * minimal main config whose every path (pid, logs, temp files) is under a temp dir, so
 * it runs as any user and touches nothing in /var or /etc/nginx.
 */

export const NGINX = '/usr/sbin/nginx';
export const DEPLOY_NGINX = path.join(ROOT, 'deploy/nginx');

export interface SiteValues {
  /** Replaces `listen 80;` (and any plain port). */
  httpPort?: number;
  /** Replaces `listen 443 ssl;`. */
  httpsPort?: number;
  /** host:port of each `server` line of the upstream block, in order (as many as it has). */
  upstreams: string[];
  certificate?: string;
  key?: string;
  serverName?: string;
}

/**
 * The site file's text with test values in: @PLACEHOLDERS@ filled, `listen` ports bound
 * to 127.0.0.1 (the IPv6 `listen [::]` lines dropped: the tests use IPv4 loopback), and
 * the upstream servers replaced. Throws when the file and the values do not fit (a
 * placeholder left over, a different number of upstream servers), so a change to the
 * shipped files that a user would also have to follow fails the tests.
 */
export function renderSite(text: string, values: SiteValues): string {
  let site = text.replace(/^\s*listen\s+\[::\][^;]*;[ \t]*\n/gm, '');
  site = site.replace(/^(\s*)listen\s+(\d+)(\s+ssl)?\s*;/gm, (_line, indent, _port, ssl) => {
    const port = ssl === undefined ? values.httpPort : values.httpsPort;
    if (port === undefined) throw new Error(`no ${ssl ? 'https' : 'http'} port for ${_line}`);
    return `${indent}listen 127.0.0.1:${port}${ssl ?? ''};`;
  });
  site = site.replace(
    /^(\s*upstream\s+\S+\s*\{)([^}]*)\}/m,
    (_block, head: string, body: string) => {
      let index = 0;
      const servers = body.replace(/^(\s*server\s+)[^\s;]+/gm, (_server, start: string) => {
        const upstream = values.upstreams[index++];
        if (upstream === undefined) throw new Error('more upstream servers than test upstreams');
        return `${start}${upstream}`;
      });
      if (index !== values.upstreams.length) {
        throw new Error(`the upstream has ${index} servers, not ${values.upstreams.length}`);
      }
      return `${head}${servers}}`;
    },
  );
  const filled: Record<string, string | undefined> = {
    SERVER_NAME: values.serverName ?? 'localhost 127.0.0.1',
    CERTIFICATE: values.certificate,
    CERTIFICATE_KEY: values.key,
  };
  site = site.replace(/@([A-Z_]+)@/g, (placeholder, name: string) => {
    const value = filled[name];
    if (value === undefined) throw new Error(`no test value for ${placeholder}`);
    return value;
  });
  return site;
}

/** The main config around a site: foreground-friendly, one worker, every path under `dir`. */
export function mainConfig(dir: string, siteFile: string): string {
  const temp = (name: string): string => path.join(dir, 'temp', name);
  return [
    'master_process on;',
    'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${path.join(dir, 'error.log')} notice;`,
    // SIGQUIT waits for open connections (WebSockets last): bound that wait.
    'worker_shutdown_timeout 2s;',
    'events { worker_connections 256; }',
    'http {',
    '    default_type application/octet-stream;',
    `    access_log ${path.join(dir, 'access.log')};`,
    `    client_body_temp_path ${temp('client_body')};`,
    `    proxy_temp_path ${temp('proxy')};`,
    `    fastcgi_temp_path ${temp('fastcgi')};`,
    `    uwsgi_temp_path ${temp('uwsgi')};`,
    `    scgi_temp_path ${temp('scgi')};`,
    `    include ${siteFile};`,
    '}',
    '',
  ].join('\n');
}

const running = new RunningProcesses<NginxProcess>();

export class NginxProcess extends LoggedProcess {
  constructor(
    child: ChildProcess,
    readonly dir: string,
    readonly httpPort: number | undefined,
    readonly httpsPort: number | undefined,
  ) {
    super(child);
    running.add(this, true); // until stopped: its stop also removes its temp dir
  }

  /** nginx's error log (startup warnings, upstream errors). */
  errorLog(): string {
    try {
      return readFileSync(path.join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Stops nginx by PID: SIGQUIT (graceful: its workers finish, at most
   * worker_shutdown_timeout for open WebSockets), then SIGKILL to the master and its
   * workers after a bound. Removes the temp dir.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    await this.terminateTree(timeoutMs, 'SIGQUIT');
    running.forget(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface StartNginxOptions extends Omit<SiteValues, 'httpPort' | 'httpsPort'> {
  /** Whether the site listens for HTTPS too (the TLS file); ports are picked either way. */
  https?: boolean;
}

/**
 * Renders `deploy/nginx/<site>` and starts nginx on it in the foreground, as a child;
 * resolves once every port it listens on accepts TCP.
 */
export async function startNginx(site: string, options: StartNginxOptions): Promise<NginxProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-nginx-'));
  const siteFile = path.join(dir, 'site.conf');
  const config = path.join(dir, 'nginx.conf');
  let httpPort: number;
  let httpsPort: number | undefined;
  try {
    // Run as root, nginx's workers run as nobody: they must reach the temp paths inside.
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, 'temp'), { mode: 0o755 }); // nginx makes only the last level
    httpPort = await freePort();
    httpsPort = options.https ? await freePort() : undefined;
    const text = readFileSync(path.join(DEPLOY_NGINX, site), 'utf8');
    writeFileSync(siteFile, renderSite(text, { ...options, httpPort, httpsPort }));
    writeFileSync(config, mainConfig(dir, siteFile));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(NGINX, ['-p', dir, '-c', config, '-e', 'stderr', '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const nginx = new NginxProcess(child, dir, httpPort, httpsPort);
  const ports = [httpPort, httpsPort].filter((port): port is number => port !== undefined);
  try {
    await waitFor(
      async () => {
        if (!nginx.running) throw new Error('nginx exited');
        const ready = await Promise.all(ports.map(accepts));
        return ready.every(Boolean);
      },
      `nginx listening on ${ports.join(', ')}`,
      10000,
    );
  } catch (error) {
    const logs = `${nginx.output}${nginx.errorLog()}`;
    await nginx.stop();
    throw new Error(`nginx did not start (${(error as Error).message}):\n${logs}`, {
      cause: error,
    });
  }
  return nginx;
}

/** Stops every nginx a test file started (call from afterAll/afterEach). */
export async function stopAllNginx(): Promise<void> {
  await running.stopAll();
}
