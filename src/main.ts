/**
 * The master's entry point: parse the command line, start the server, and stop it
 * cleanly on SIGTERM/SIGINT (close every client with 1001, wait for the workers).
 */
// First: from here on SIGHUP, SIGQUIT and SIGUSR2 are held until the master is ready.
import { startupSignals } from './master/signals/held-at-start';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AuthSetup } from './master/auth/auth-setup';
import { parseSettings, UsageError, type Settings } from './master/cli/cli';
import { reloadOnSignal, settingLines } from './master/config/reload';
import { openAdminWarning } from './master/http/admin-access';
import { createLogger } from './master/observability/logger';
import { Master } from './master/master';
import { HotUpgrade } from './master/upgrade/hot-upgrade';
import { takeOver, takeUpgradeEnv, writePidFile } from './master/upgrade/successor';
import { prepareClientCgroups, removeCgroupParents } from './master/sandbox/cgroups';
import { authOn, runsCommands } from './shared/config';

function packageVersion(): string {
  const file = path.resolve(__dirname, '../../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * The authentication set-up, loaded only when a flag asks for it: `jose` (80-odd
 * modules) is 2.7 MB of the master's memory, whose page tables every fork() copies.
 */
function loadAuthSetup(): typeof import('./master/auth/auth-setup') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  return require('./master/auth/auth-setup') as typeof import('./master/auth/auth-setup');
}

async function main(): Promise<void> {
  const version = packageVersion();
  // Set when this master is a hot upgrade's new one (forked by the old master).
  const upgrade = takeUpgradeEnv();
  const argv = process.argv.slice(2);
  let settings: Settings;
  let auth: AuthSetup | undefined;
  try {
    // The command line, PUSH_WS_* and --config's file (docs/operations.md#configuration-file).
    settings = parseSettings(argv, version);
    // The key files are read now, once: a bad one stops the start (exit 2), not a client.
    auth = authOn(settings.config.auth)
      ? loadAuthSetup().authSetup(settings.config.auth)
      : undefined;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`push-websocket: ${error.message}\n`);
    process.exit(2);
  }

  const { config } = settings;
  const logger = createLogger(config.logLevel, config.logFormat);
  const exit = async (code: number): Promise<never> => {
    await logger.flush();
    process.exit(code);
  };

  logger.info('Server starting...');
  for (const line of settingLines(settings)) logger.debug(line);
  const openAdmin = openAdminWarning(config);
  if (openAdmin !== undefined) logger.warn(openAdmin);
  if (auth !== undefined) logger.info(auth.summary);
  const cgroups = prepareClientCgroups(config.sandbox, runsCommands(config), logger);
  const master = new Master(config, logger, version, auth?.gate, upgrade?.instanceId);
  let address: string;
  try {
    address =
      upgrade === undefined
        ? await master.listen(config.port, config.host)
        : await takeOver(master, upgrade, logger);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    logger.error(
      upgrade === undefined
        ? `Cannot listen on ${config.host}:${config.port}: ${code ?? message}`
        : `Hot upgrade: this new master cannot take over: ${code ?? message}`,
    );
    return exit(1);
  }
  if (upgrade === undefined) writePidFile();
  process.title = `push-websocket master ${address}`;
  // At any --log-level: tools wait for this line to learn the port.
  logger.ready(`Server started on ${address}`);

  // SIGUSR2: a new master from the code on disk takes over (docs/upgrade.md).
  const hotUpgrade = new HotUpgrade(master, logger, () => exit(0));

  let stopping = false;
  /** `why`: the log line that says what ends the server. */
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info(why);
    await master.stop();
    if (cgroups !== undefined) removeCgroupParents(cgroups);
    logger.info(`Server stopped in ${Date.now() - started} ms`);
    await exit(0);
  };
  const onSignal = (signal: string): Promise<void> =>
    stop(`Received ${signal}: closing every client with 1001`);
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
  // Graceful drain (docs/operations.md#draining): once every client has gone, exit 0.
  master.onDrained(() => void stop('Every client has left: stopping after the drain'));
  // Held since the start (src/master/signals/startup-signals.ts); from now on:
  startupSignals.ready(
    {
      // Reload what may change live (docs/operations.md#configuration-file).
      SIGHUP: reloadOnSignal({ argv, version, running: config, master, logger }),
      SIGQUIT: () => {
        if (!master.drain('SIGQUIT')) logger.info('Received SIGQUIT: already draining');
      },
      SIGUSR2: () => hotUpgrade.start(),
    },
    logger,
  );
}

void main();
