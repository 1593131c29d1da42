import { realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Containment by real paths, for serving a directory (--dir, --staticdir): a symlink
 * inside the directory may point anywhere, so the lexical path proves nothing.
 */

/** `file` lies strictly under `root` (both real, absolute paths). */
export function isInside(file: string, root: string): boolean {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return file.startsWith(prefix) && file.length > prefix.length;
}

/** The real path of `candidate` when it exists and lies under `root` (a real path). */
export async function realPathInside(candidate: string, root: string): Promise<string | undefined> {
  const real = await realpath(candidate).catch(() => undefined);
  return real !== undefined && isInside(real, root) ? real : undefined;
}

/**
 * The real path of `dir`, checked to be a directory (a root to serve, opened at
 * start-up). Rejects with realpath's error when it does not resolve (its `code` set,
 * ENOENT...), or with "`dir` is not a directory".
 */
export async function realDirectory(dir: string): Promise<string> {
  const root = await realpath(dir);
  if (!(await stat(root)).isDirectory()) throw new Error(`${dir} is not a directory`);
  return root;
}

/** realDirectory() for start-up code that cannot wait. */
export function realDirectorySync(dir: string): string {
  const root = realpathSync(dir);
  if (!statSync(root).isDirectory()) throw new Error(`${dir} is not a directory`);
  return root;
}
