import { fail, ok, type Result } from '../../shared/result';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodePathSegments } from '../../shared/url-path';
import { realDirectory, realPathInside } from './real-path';

/**
 * --dir DIR: each executable in DIR is a WebSocket endpoint, as websocketd's --dir. The
 * master resolves the request path to a script before the handshake (a miss is a 404,
 * as websocketd answers) and hands the worker the script and the CGI path split.
 *
 * The walk is websocketd's (libwebsocketd/handler.go, GetURLInfo): segment by segment,
 * directories are entered, the first regular file is the script and what follows is
 * PATH_INFO. `/chat/room/1` runs DIR/chat with PATH_INFO `/room/1` (or DIR/chat/room
 * with `/1` when chat is a directory). Stricter than websocketd, on purpose:
 * - Every segment is percent-decoded alone, and a path with "." or "..", a hidden name
 *   (a segment starting with "."), an encoded "/" or "\", a NUL or a malformed escape
 *   is refused outright (see decodePathSegments), PATH_INFO segments included.
 * - The script must be a regular file with an execute bit that we may execute.
 * - Its real path (symlinks resolved) must lie inside DIR's real path, and that real
 *   path is what runs, so a link swapped after the check cannot redirect the run.
 */
export interface ScriptRoute {
  /** The real path of the script to run. */
  file: string;
  /** SCRIPT_NAME: the URL path of the script, decoded ("/chat"). */
  scriptName: string;
  /** PATH_INFO: the decoded rest of the path ("/room/1"), "" when none. */
  pathInfo: string;
}

export class ScriptDirectory {
  private constructor(
    /** DIR's real path. */
    readonly root: string,
  ) {}

  /** Rejects (for a start-up error naming the flag) when `dir` is not a directory. */
  static async open(dir: string): Promise<ScriptDirectory> {
    return new ScriptDirectory(await realDirectory(dir));
  }

  /** For a root already checked and made real at start-up (ServerConfig's, see directoryFlag). */
  static ofRealRoot(root: string): ScriptDirectory {
    return new ScriptDirectory(root);
  }

  /**
   * The script a request path names, or why none (for the log: the client gets 404).
   * `rawPath` is the path as sent, without the query.
   */
  async resolve(rawPath: string): Promise<Result<ScriptRoute>> {
    const decoded = decodePathSegments(rawPath);
    if (!decoded.ok) return miss('path refused (dot segment, hidden name or bad escape)');
    const segments = decoded.value;
    for (let i = 0; i < segments.length; i++) {
      const candidate = path.join(this.root, ...segments.slice(0, i + 1));
      const info = await stat(candidate).catch(() => undefined);
      if (info === undefined) return miss('no such script');
      if (info.isDirectory()) continue;
      if (!info.isFile()) return miss('not a regular file');
      const real = await realPathInside(candidate, this.root);
      if (real === undefined) {
        return miss('script outside the directory');
      }
      if ((info.mode & 0o111) === 0 || !(await executable(real))) return miss('not executable');
      const rest = segments.slice(i + 1);
      return ok({
        file: real,
        scriptName: `/${segments.slice(0, i + 1).join('/')}`,
        pathInfo: rest.length === 0 ? '' : `/${rest.join('/')}`,
      });
    }
    return miss('no script named');
  }
}

function miss(reason: string): Result<never> {
  return fail(reason);
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
