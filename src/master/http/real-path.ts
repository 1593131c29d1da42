import { realpath } from 'node:fs/promises';
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
