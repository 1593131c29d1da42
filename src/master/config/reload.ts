import type { ServerConfig } from '../../shared/config';
import { parseSettings, SECRET_FLAGS, UsageError, type Settings } from '../cli/cli';
import type { Master } from '../master';
import type { MasterLogger } from '../observability/logger';
import { flagList, reloadPlan } from './reload-plan';

/**
 * Where each setting that is not its default came from, one line each, for the start's
 * debug log: `--max-clients 500 (config file)`; a secret's value is never shown. Pure.
 */
export function settingLines(settings: Pick<Settings, 'sources' | 'values'>): string[] {
  return [...settings.sources].map(([flag, source]) => {
    if (SECRET_FLAGS.has(flag)) return `Setting --${flag} from the ${source} (value hidden)`;
    return `Setting --${flag} ${JSON.stringify(settings.values.get(flag))} from the ${source}`;
  });
}

export interface ReloadOptions {
  argv: string[];
  version: string;
  /** The settings in force (the object the master was built with). */
  running: ServerConfig;
  master: Pick<Master, 'reconfigure'>;
  logger: MasterLogger;
}

/**
 * SIGHUP: the settings read again from every source (--config's file, as it is now),
 * through the same checks as at start. A bad file changes nothing and says why in one
 * line; otherwise what may change live is applied (reload-plan.ts) and what needs the
 * hot upgrade (SIGUSR2) is named. Returns whether anything was applied.
 */
export function reloadSettings(options: ReloadOptions): boolean {
  const { logger } = options;
  let settings: Settings;
  try {
    settings = parseSettings(options.argv, options.version);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    logger.error(`SIGHUP: settings not reloaded, nothing changed: ${error.message}`);
    return false;
  }
  const plan = reloadPlan(options.running, settings.config);
  if (plan.live.length > 0) {
    options.master.reconfigure(settings.config, plan.live, logger);
    logger.info(`SIGHUP: reloaded ${flagList(plan.live)}`);
  }
  if (plan.upgrade.length > 0) {
    logger.warn(
      `SIGHUP: ${flagList(plan.upgrade)} changed but need a hot upgrade (SIGUSR2) to take effect`,
    );
  }
  if (plan.live.length === 0 && plan.upgrade.length === 0) {
    logger.info('SIGHUP: settings read again, nothing changed');
  }
  return plan.live.length > 0;
}
