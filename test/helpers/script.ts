import { chmodSync, writeFileSync } from 'node:fs';

/**
 * Writes a /bin/sh script: the shebang line, then `body` (a line of its own, when there
 * is one), with `mode` set exactly (umask aside). Returns `file`.
 */
export function writeScript(file: string, body: string, mode = 0o755): string {
  writeFileSync(file, body === '' ? '#!/bin/sh\n' : `#!/bin/sh\n${body}\n`);
  chmodSync(file, mode);
  return file;
}
