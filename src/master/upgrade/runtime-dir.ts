import { mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The runtime directory when systemd gives none and it exists, writable: /run/push-websocket. */
const SYSTEM_RUNTIME_DIR = '/run/push-websocket';

/**
 * Where the control socket of a hot upgrade lives (docs/upgrade.md): systemd's
 * $RUNTIME_DIRECTORY (RuntimeDirectory= in the unit; its first entry), else
 * /run/push-websocket when it is there and ours, else a directory of our own under the
 * temporary directory (mode 0700). The socket itself is made mode 0600.
 */
export function runtimeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.RUNTIME_DIRECTORY?.split(':')[0];
  if (given !== undefined && given !== '') return given;
  if (ownedDirectory(SYSTEM_RUNTIME_DIR)) return SYSTEM_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  const own = path.join(os.tmpdir(), `push-websocket-${uid}`);
  mkdirSync(own, { recursive: true, mode: 0o700 });
  if (!ownedDirectory(own)) throw new Error(`${own} is not a directory of this user's`);
  return own;
}

function ownedDirectory(dir: string): boolean {
  try {
    const stat = statSync(dir);
    return stat.isDirectory() && stat.uid === (process.getuid?.() ?? stat.uid);
  } catch {
    return false;
  }
}
