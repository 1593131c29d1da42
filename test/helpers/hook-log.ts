import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeScript } from './script';

/** The facts a recording hook writes, in this order, '|' between them. */
const FIELDS = [
  'EVENT',
  'CLIENT_ID',
  'CHANNEL',
  'CLOSE_CODE',
  'CLOSED_BY',
  'EXIT_CODE',
  'EXIT_SIGNAL',
] as const;

/**
 * A command hook (for --on-connect, --on-disconnect, --on-channel) written into `dir`
 * that appends one line per run to `log`: `EVENT|CLIENT|CHANNEL|CODE|BY|EXIT|SIGNAL`
 * from its PUSH_WS_* environment (empty when unset). Returns the hook's command.
 */
export function recordingHook(dir: string, log: string): string {
  const line = FIELDS.map((name) => `\${PUSH_WS_${name}:-}`).join('|');
  const script = writeScript(path.join(dir, 'record-hook.sh'), `printf '%s\\n' "${line}" >> "$1"`);
  return `${script} ${log}`;
}

/** The runs recorded in `log` for `event` (connect, disconnect, occupied...), each as its fields. */
export function hookRuns(log: string, event: string): string[][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('|'))
    .filter(([recorded]) => recorded === event);
}
