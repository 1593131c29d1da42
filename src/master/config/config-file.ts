import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../cli/usage-error';

/**
 * --config FILE: flags in a JSON or TOML file (docs/operations.md#configuration-file).
 * Keys are the flags' names as written on the command line, kebab-case (`max-clients`);
 * camelCase is refused (one spelling, one key). This module reads the file and checks
 * only what yargs cannot: that each key is a flag and that its value has the flag's
 * type. The values themselves go through the flags' own checks (cli.ts), as one more
 * source below the command line and the environment.
 */

/** What a flag takes, as its yargs option says. */
export interface FlagShape {
  type?: 'string' | 'number' | 'boolean';
  array?: boolean;
  choices?: readonly string[];
}

/** A flag value as yargs takes it from a config object. */
export type FileValue = string | number | boolean | string[];

/**
 * A problem with the config file: one line naming the file and, when it is one key's,
 * the key. A UsageError: at start, exit 2 with that line.
 */
export class ConfigFileError extends UsageError {}

/** Keys a file may not set: the file itself, and yargs' own. */
const NOT_IN_FILE = new Set(['config', 'help', 'version']);

/**
 * smol-toml, loaded only for a TOML file: the master's memory is copied into the page
 * tables of every fork(), so what most starts never use is not loaded at start.
 */
function parseToml(text: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  return (require('smol-toml') as typeof import('smol-toml')).parse(text);
}

/** The file's text as an object: TOML for `.toml`, JSON for `.json`, else by its first character. */
function parseText(file: string, text: string): unknown {
  const ext = path.extname(file).toLowerCase();
  const json = ext === '.json' || (ext !== '.toml' && text.trimStart().startsWith('{'));
  try {
    return json ? JSON.parse(text) : parseToml(text);
  } catch (error) {
    // smol-toml's message has a code frame after its first line: one line is enough.
    const first = (error as Error).message.split('\n')[0];
    throw new ConfigFileError(`--config ${file}: not valid ${json ? 'JSON' : 'TOML'}: ${first}`);
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** One value checked against its flag's shape: the value yargs gets, or what is wrong. */
function fitted(shape: FlagShape, value: unknown): { value: FileValue } | { problem: string } {
  const scalar = typeof value === 'string' || typeof value === 'number';
  if (shape.array === true) {
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    if (!list.every((entry) => typeof entry === 'string' || typeof entry === 'number')) {
      return { problem: 'must be a string or an array of strings' };
    }
    return { value: list.map(String) };
  }
  if (shape.type === 'boolean') {
    return typeof value === 'boolean' ? { value } : { problem: 'must be true or false' };
  }
  if (shape.type === 'number') {
    return typeof value === 'number' ? { value } : { problem: 'must be a number' };
  }
  // A string flag (or one with choices): a number is taken as its text (`spare-workers = 2`).
  return scalar ? { value: String(value) } : { problem: 'must be a string' };
}

/**
 * The flags a config file sets, each checked to be a flag of `shapes` and of its type:
 * a problem throws ConfigFileError naming the file and the key.
 */
export function flagsOfFile(
  file: string,
  text: string,
  shapes: Readonly<Record<string, FlagShape>>,
): Record<string, FileValue> {
  const parsed = parseText(file, text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigFileError(`--config ${file}: must hold a table of flags`);
  }
  const flags: Record<string, FileValue> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const shape = NOT_IN_FILE.has(key) ? undefined : shapes[key];
    if (shape === undefined) {
      const hint =
        kebab(key) !== key && shapes[kebab(key)] !== undefined ? ` (write ${kebab(key)})` : '';
      throw new ConfigFileError(`--config ${file}: unknown key ${JSON.stringify(key)}${hint}`);
    }
    const fit = fitted(shape, value);
    if ('problem' in fit) {
      throw new ConfigFileError(
        `--config ${file}: key ${JSON.stringify(key)} ${fit.problem} (got ${JSON.stringify(value)})`,
      );
    }
    flags[key] = fit.value;
  }
  return flags;
}

/**
 * Why `text`, read from --config's `file`, is not to be taken: nothing in it, read from
 * a pipe. `--config <(command)` is a pipe read to its end at start: read again (SIGHUP,
 * a hot upgrade's new master, which inherits the descriptor) it gives nothing at once,
 * and an empty TOML file is a valid one that sets nothing: every setting, tokens
 * included, would silently go back to its default. An empty regular file stays valid.
 */
export function emptyPipeProblem(file: string, text: string): string | undefined {
  if (text.trim() !== '') return undefined;
  try {
    if (statSync(file).isFile()) return undefined;
  } catch {
    // gone meanwhile: it was no file to read again either
  }
  return 'nothing in it, and it is no file (a pipe already read to its end?): give a file to reload or upgrade from';
}

/** Reads the file's flags (ConfigFileError when it cannot be read, or does not fit). */
export function readConfigFile(
  file: string,
  shapes: Readonly<Record<string, FlagShape>>,
): Record<string, FileValue> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new ConfigFileError(`--config ${file}: cannot read it: ${code ?? message}`, {
      cause: error,
    });
  }
  const empty = emptyPipeProblem(file, text);
  if (empty !== undefined) throw new ConfigFileError(`--config ${file}: ${empty}`);
  return flagsOfFile(file, text, shapes);
}
