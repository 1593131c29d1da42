import { UsageError, parseCommandLine } from '../../src/master/cli/cli';
import type { AuthSettings, ServerConfig } from '../../src/shared/config';

/** The auth settings with no --auth-* flag: authentication off. */
export const AUTH_OFF: AuthSettings = {
  secretFile: undefined,
  publicKeyFile: undefined,
  cookie: undefined,
  audience: undefined,
  issuer: undefined,
  leeway: 5,
  privateChannels: [],
  allowAnonymous: false,
  url: undefined,
  timeout: 3,
};

/** The lifecycle settings with no hook or presence flag. */
export const LIFECYCLE_OFF: ServerConfig['lifecycle'] = {
  onConnect: undefined,
  onDisconnect: undefined,
  onChannel: undefined,
  hookTimeout: 5,
  vacateGrace: 5,
  presenceTtl: 15,
};

/** parseCommandLine in-process, as the server is version `version`. */
export function parseFlags(argv: string[], version = '0.0.0-test'): ServerConfig {
  return parseCommandLine(argv, version);
}

/** The one-line UsageError a command line gets (fails the test if it gets none). */
export function usageError(argv: string[]): string {
  try {
    parseFlags(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`no UsageError for ${JSON.stringify(argv)}`);
}

/**
 * Each test of the file starts with no PUSH_WS_* variable set, and whatever it sets is
 * undone after it.
 */
export function isolatePushWsEnvironment(): void {
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = { ...process.env };
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('PUSH_WS_')) delete process.env[name];
    }
  });
  afterEach(() => {
    for (const name of Object.keys(process.env)) {
      if (!(name in saved)) delete process.env[name];
    }
    Object.assign(process.env, saved);
  });
}
