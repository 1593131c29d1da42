/**
 * The master's entry point: parse the command line, start the server, and stop it
 * cleanly on SIGTERM/SIGINT (close every client with 1001, wait for the workers).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { authSetup, type AuthSetup } from './master/auth/auth-setup';
import { parseCommandLine, UsageError } from './master/cli/cli';
import { openAdminWarning } from './master/http/admin-access';
import { createLogger } from './master/observability/logger';
import { Master } from './master/master';
import { HotUpgrade } from './master/upgrade/hot-upgrade';
import { takeOver, takeUpgradeEnv, writePidFile } from './master/upgrade/successor';

function packageVersion(): string {
  const file = path.resolve(__dirname, '../../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const version = packageVersion();
  // Set when this master is a hot upgrade's new one (forked by the old master).
  const upgrade = takeUpgradeEnv();
  let config;
  let auth: AuthSetup | undefined;
  try {
    config = parseCommandLine(process.argv.slice(2), version);
    // The key files are read now, once: a bad one stops the start (exit 2), not a client.
    auth = authSetup(config.auth);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`push-websocket: ${error.message}\n`);
    process.exit(2);
  }

  const logger = createLogger(config.logLevel, config.logFormat);
  const exit = async (code: number): Promise<never> => {
    await logger.flush();
    process.exit(code);
  };

  logger.info('Server starting...');
  const openAdmin = openAdminWarning(config);
  if (openAdmin !== undefined) logger.warn(openAdmin);
  if (auth !== undefined) logger.info(auth.summary);
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
  process.on('SIGUSR2', () => hotUpgrade.start());

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info(`Received ${signal}: closing every client with 1001`);
    await master.stop();
    logger.info(`Server stopped in ${Date.now() - started} ms`);
    await exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

void main();
