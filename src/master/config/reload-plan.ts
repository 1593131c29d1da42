import type { ServerConfig } from '../../shared/config';

/**
 * What a reload (SIGHUP) may change in the running master, by setting: the rest needs
 * the hot upgrade (SIGUSR2), which starts a new master from the re-read file. Live:
 * what the master reads per handshake or per decision (the log level, origins, client
 * limits, spares, the drain window). Not live: what a listening socket, a worker's
 * fork-time settings, the broker or the key files fixed at start.
 */
export const LIVE_SETTINGS = [
  'logLevel',
  'origins',
  'maxClients',
  'maxClientsPerIp',
  'connectRate',
  'spareWorkers',
  'spareWorkersMax',
  'drainSeconds',
] as const satisfies readonly (keyof ServerConfig)[];

export type LiveSetting = (typeof LIVE_SETTINGS)[number];

/** Settings whose flag is not their name in kebab-case. */
const FLAG_OF: Partial<Record<keyof ServerConfig, string>> = {
  origins: 'origin',
  spareWorkersMax: 'spare-workers',
  staticDir: 'staticdir',
  headers: 'header',
  auth: 'auth-*',
  channelExec: 'channel-exec',
  workerMemoryLimit: 'worker-memory-limit',
  lifecycle: 'on-*',
  sandbox: 'exec-*',
};

/** The flag a setting comes from, for a log line ("max-clients"). */
export function flagOf(setting: keyof ServerConfig): string {
  return FLAG_OF[setting] ?? setting.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

export interface ReloadPlan {
  /** Changed, and applied to the running master. */
  live: LiveSetting[];
  /** Changed, but only a hot upgrade applies them. */
  upgrade: (keyof ServerConfig)[];
}

const isLive = (key: string): key is LiveSetting =>
  (LIVE_SETTINGS as readonly string[]).includes(key);

/** What differs between the running settings and the re-read ones, split as above. Pure. */
export function reloadPlan(running: ServerConfig, next: ServerConfig): ReloadPlan {
  const plan: ReloadPlan = { live: [], upgrade: [] };
  for (const key of Object.keys(next) as (keyof ServerConfig)[]) {
    if (JSON.stringify(running[key]) === JSON.stringify(next[key])) continue;
    if (isLive(key)) plan.live.push(key);
    else plan.upgrade.push(key);
  }
  return plan;
}

/** The flags of some settings, once each, for one log line. */
export function flagList(settings: readonly (keyof ServerConfig)[]): string {
  return [...new Set(settings.map((setting) => `--${flagOf(setting)}`))].join(', ');
}
