import { spawn } from 'node:child_process';
import type { ServerProcess } from './server';
import { HANG_BOUND_MS } from './wait';

export const PROMTOOL = '/usr/bin/promtool';

/** Runs `promtool check metrics` on the text (stdin); resolves with its output and status. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_BOUND_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}

/** The value of one series (`name{labels}` exactly as exposed) in a scrape, or undefined. */
export function sample(body: string, series: string): number | undefined {
  for (const line of body.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** GET /metrics of a server (with the admin token when given); throws unless 200. */
export async function scrape(server: ServerProcess, token?: string): Promise<string> {
  const headers: Record<string, string> =
    token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const response = await fetch(`${server.httpUrl}/metrics`, {
    headers,
    signal: AbortSignal.timeout(HANG_BOUND_MS),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status} ${body}`);
  return body;
}
