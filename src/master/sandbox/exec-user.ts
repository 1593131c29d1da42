import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ExecUser } from '../../shared/command-sandbox';

/** Capability bits (linux/capability.h) a user switch needs. */
const CAP_KILL = 5;
const CAP_SETGID = 6;
const CAP_SETUID = 7;

/** A database entry (passwd or group) by name or number, through NSS, or undefined. */
function getent(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: 'pipe' });
    return line.split('\n')[0].split(':');
  } catch {
    return undefined; // exit 2: no such entry
  }
}

/** This process's effective capabilities, from /proc (0 when unreadable). */
function effectiveCapabilities(): bigint {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return hex === undefined ? 0n : BigInt(`0x${hex}`);
  } catch {
    return 0n;
  }
}

function has(capabilities: bigint, bit: number): boolean {
  return (capabilities & (1n << BigInt(bit))) !== 0n;
}

/**
 * --exec-user USER[:GROUP]: the uid and gid commands run as (USER's primary group unless
 * GROUP is given; names or numbers, looked up through getent, so NSS users work too).
 * Throws an Error saying why not: no such user or group, or this process may not switch
 * to them (it needs CAP_SETUID and CAP_SETGID, and CAP_KILL to end them, as root has,
 * unless they are its own).
 * The switch itself is libuv's (spawn's uid and gid), which also drops every
 * supplementary group (setgroups(0, NULL)): a command keeps none of the server's.
 */
export function resolveExecUser(
  spec: string,
  capabilities: bigint = effectiveCapabilities(),
): ExecUser {
  const [userName, groupName, ...rest] = spec.split(':');
  if (userName === '' || rest.length > 0 || groupName === '') {
    throw new Error(`must be USER or USER:GROUP (got ${JSON.stringify(spec)})`);
  }
  const passwd = getent('passwd', userName);
  if (passwd === undefined) throw new Error(`no such user ${JSON.stringify(userName)}`);
  const uid = Number(passwd[2]);
  let gid = Number(passwd[3]);
  if (groupName !== undefined) {
    const group = getent('group', groupName);
    if (group === undefined) throw new Error(`no such group ${JSON.stringify(groupName)}`);
    gid = Number(group[2]);
  }
  const switchesUser = uid !== process.getuid?.();
  const switchesGroup = gid !== process.getgid?.();
  if (switchesUser && !has(capabilities, CAP_SETUID)) {
    throw new Error(
      `cannot run commands as uid ${uid}: the server lacks CAP_SETUID (run it as root, or give it the capability)`,
    );
  }
  // Another user's processes can be signalled only with CAP_KILL: without it, the
  // server could start commands it can never end.
  if (switchesUser && !has(capabilities, CAP_KILL)) {
    throw new Error(
      `cannot end commands running as uid ${uid}: the server lacks CAP_KILL (run it as root, or give it the capability)`,
    );
  }
  if ((switchesUser || switchesGroup) && !has(capabilities, CAP_SETGID)) {
    throw new Error(
      `cannot run commands as gid ${gid}: the server lacks CAP_SETGID (run it as root, or give it the capability)`,
    );
  }
  return { uid, gid };
}
