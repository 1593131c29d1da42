import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * node:util parseArgs for a script run by hand: --help prints its usage; an unknown
 * flag or a missing value stops it with one line and the usage (exit 2), not a stack
 * trace.
 */
export function flagsOrUsage<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T>> {
  const given = config.args ?? process.argv.slice(2);
  if (given.includes('--help') || given.includes('-h')) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: ${usage}\n`);
    process.exit(2);
  }
}

/**
 * Number-valued arguments of the bench scripts, read with node:util parseArgs (which
 * gives strings): a value that is not a number within bounds stops the script with a
 * message naming the flag, rather than running with NaN.
 */
export function numberArg(
  flag: string,
  text: string,
  bounds: { min?: number; max?: number } = {},
): number {
  const value = Number(text);
  const { min = -Infinity, max = Infinity } = bounds;
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`--${flag}: ${JSON.stringify(text)} is not a number in ${min}..${max}`);
  }
  return value;
}

/** A comma-separated list of numbers (`--clients 500,1000`). */
export function numberListArg(
  flag: string,
  text: string,
  bounds: { min?: number; max?: number } = {},
): number[] {
  return text.split(',').map((part) => numberArg(flag, part, bounds));
}
