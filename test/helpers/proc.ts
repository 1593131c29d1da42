import { readFileSync } from 'node:fs';

export * from '../../scripts/lib/proc';

/** A process's environment, as the kernel holds it (/proc/PID/environ). */
export function environ(pid: number): Record<string, string> {
  const text = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    text
      .split('\0')
      .filter(Boolean)
      .map((entry) => entry.split(/=(.*)/s).slice(0, 2)),
  );
}
