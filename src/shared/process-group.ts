import { readdirSync, readFileSync } from 'node:fs';

/**
 * A command's process group, as the kernel sees it. Signals go to the whole group so
 * that what the command started ends with it.
 */

/** Signals the whole group; false when there was no such group (already gone). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Some live process is left in the group. Signal 0 answers cheaply when the group is
 * empty; when it is not, /proc tells whether the members are only zombies (an orphan
 * whose new parent does not reap it, as under a minimal init), which count as gone.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return hasLiveMember(pgid);
}

/** The live (not zombie) members of the group, counted in /proc: a scan of every process. */
export function groupMembers(pgid: number): number {
  const count = countLive(pgid, Infinity);
  return Number.isFinite(count) ? count : 0; // no /proc: nothing to count
}

/** The first live (not zombie) member found in /proc answers; the rest are not read. */
function hasLiveMember(pgid: number): boolean {
  return countLive(pgid, 1) > 0;
}

/** Live members of the group, counting up to `atMost` (Infinity when /proc is missing). */
function countLive(pgid: number, atMost: number): number {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return Infinity; // no /proc: trust the signal
  }
  let count = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // After the command name, in parentheses and possibly with spaces: state ppid pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X' && ++count >= atMost) break;
  }
  return count;
}
