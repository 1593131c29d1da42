import type { ServerConfig } from '../../shared/config';
import { configFileOf, parseSettings, SECRET_FLAGS, UsageError, type Settings } from '../cli/cli';
import type { Master } from '../master';
import type { MasterLogger } from '../observability/logger';
import { emptyPipeProblem } from './config-file';
import { RELOAD_READ_BOUNDS, readBounded, ReadProblem, type ReadBounds } from './read-bounded';
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
  /** How long and how much the read of --config's file may take (RELOAD_READ_BOUNDS). */
  bounds?: ReadBounds;
}

const NOT_RELOADED = 'SIGHUP: settings not reloaded, nothing changed';

/**
 * --config's text, read without blocking the event loop (read-bounded.ts): undefined
 * without --config; null when it could not be read, said in one line.
 */
async function configText(options: ReloadOptions): Promise<string | undefined | null> {
  const file = configFileOf(options.argv, process.env);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readBounded(file, options.bounds ?? RELOAD_READ_BOUNDS);
  } catch (error) {
    if (!(error instanceof ReadProblem)) throw error;
    options.logger.error(`${NOT_RELOADED}: --config ${file}: cannot read it: ${error.message}`);
    return null;
  }
  const empty = emptyPipeProblem(file, text);
  if (empty === undefined) return text;
  options.logger.error(`${NOT_RELOADED}: --config ${file}: ${empty}`);
  return null;
}

/**
 * SIGHUP: the settings read again from every source (--config's file, as it is now),
 * through the same checks as at start. A file that cannot be read within the bounds
 * (a FIFO nobody writes) or a bad one changes nothing and says why in one line;
 * otherwise what may change live is applied (reload-plan.ts) and what needs the hot
 * upgrade (SIGUSR2) is named. Resolves to whether anything was applied.
 */
export async function reloadSettings(options: ReloadOptions): Promise<boolean> {
  const { logger } = options;
  const text = await configText(options);
  if (text === null) return false;
  let settings: Settings;
  try {
    settings = parseSettings(options.argv, options.version, { configText: text });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    logger.error(`${NOT_RELOADED}: ${error.message}`);
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

/**
 * The SIGHUP action: one reload at a time. A SIGHUP while a reload still waits for its
 * file (a FIFO not yet written) is not queued: the reload under way reads the file as
 * it is when written, which is what the later signal asked for.
 */
export function reloadOnSignal(options: ReloadOptions): () => void {
  let reading = false;
  return () => {
    if (reading) {
      options.logger.info(
        'Received SIGHUP: a reload is still reading its file; this one is ignored',
      );
      return;
    }
    reading = true;
    void reloadSettings(options)
      .catch((error: unknown) => {
        // A bug, not a bad file: said, and the master serves on with what it has.
        options.logger.error(`SIGHUP: settings not reloaded: ${(error as Error).message}`);
      })
      .finally(() => {
        reading = false;
      });
  };
}
