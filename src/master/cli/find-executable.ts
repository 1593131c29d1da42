import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the --exec command would be looked for, as execvp(3) (and so Node's spawn)
 * looks: a name with a slash is a path (relative to `cwd`); a bare name is tried in
 * each PATH directory in order, an empty entry meaning `cwd`. Without PATH, the
 * C library's default. Pure.
 */
export function commandCandidates(
  command: string,
  pathEnv: string | undefined,
  cwd: string,
): string[] {
  if (command.includes('/')) return [path.resolve(cwd, command)];
  if (command === '') return [];
  return (pathEnv ?? '/usr/bin:/bin').split(':').map((dir) => path.resolve(cwd, dir, command));
}

/** True for a regular file this process may execute (the check spawn would make). */
function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The file the command resolves to, or undefined when there is none: checked once at
 * start, as websocketd does, so that a typo fails the server with one line instead of
 * failing every client with 1011. (The file may still vanish later; a worker then
 * reports that client's failure.)
 */
export function findExecutable(
  command: string,
  pathEnv: string | undefined = process.env.PATH,
  cwd: string = process.cwd(),
): string | undefined {
  return commandCandidates(command, pathEnv, cwd).find(isExecutableFile);
}
