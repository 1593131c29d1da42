import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import send from 'send';
import { decodePathSegments, splitRequestTarget } from '../../shared/url-path';
import { realDirectory, realPathInside } from './real-path';

/**
 * --staticdir DIR: plain GET and HEAD requests for files under DIR, as websocketd's
 * --staticdir. The HTTP side (Content-Type, ETag, Last-Modified, 304 on If-None-Match
 * and If-Modified-Since, Range, HEAD) is the `send` package's, which Express's static
 * middleware is built on: a well-kept, much-used implementation of the conditional-GET
 * rules we would otherwise get subtly wrong. Which file is ours to choose, before
 * `send` sees the request:
 * - the path is decoded segment by segment and refused when it has "." or "..", a
 *   hidden name, an encoded "/" or "\", a NUL or a malformed escape (decodePathSegments);
 * - the file's real path (symlinks resolved) must lie under DIR's real path, and have
 *   no hidden segment either (a visible link to a hidden file is refused); `send` then
 *   opens that real path, so a link swapped after the check cannot redirect it;
 * - a directory is served by its index.html (no listings); "/dir" is redirected to
 *   "/dir/" first, as websocketd (Go's file server) and `send` do; a file's path with a
 *   trailing "/" ("/a.txt/") is no file.
 * Anything refused is "no file": the caller answers 404, as for a missing file.
 */
export class StaticFiles {
  private constructor(
    /** DIR's real path. */
    readonly root: string,
  ) {}

  /** Rejects (for a start-up error naming the flag) when `dir` is not a directory. */
  static async open(dir: string): Promise<StaticFiles> {
    return new StaticFiles(await realDirectory(dir));
  }

  /** For a root already checked and made real at start-up (ServerConfig's, see directoryFlag). */
  static ofRealRoot(root: string): StaticFiles {
    return new StaticFiles(root);
  }

  /**
   * Answers `req` from DIR and resolves true, or resolves false without touching `res`
   * when it names no file we serve (the caller answers, normally 404). Only GET and
   * HEAD are served.
   */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const target = splitRequestTarget(req.url ?? '/');
    const decoded = decodePathSegments(target.path);
    if (!decoded.ok) return false;
    const segments = decoded.value;
    const candidate = path.join(this.root, ...segments);
    const info = await stat(candidate).catch(() => undefined);
    if (info === undefined) return false;
    if (info.isDirectory()) {
      if (!target.path.endsWith('/')) {
        // Rebuilt from the segments: "//host" must not become a redirect off-site.
        const canonical = `/${segments.map(encodeURIComponent).join('/')}/`.replace(/^\/\/$/, '/');
        redirect(res, `${canonical}${target.query === '' ? '' : `?${target.query}`}`);
        return true;
      }
      return this.sendFile(req, res, path.join(candidate, 'index.html'));
    }
    // "/a.txt/" names a directory that is not there, as on any file server: not the file.
    if (target.path.endsWith('/')) return false;
    return this.sendFile(req, res, candidate, info);
  }

  /** `known`: `candidate`'s stat when the caller has it (stat follows links: the real file's). */
  private async sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    candidate: string,
    known?: Stats,
  ): Promise<boolean> {
    const real = await realPathInside(candidate, this.root);
    if (real === undefined) return false;
    const info = known ?? (await stat(real).catch(() => undefined));
    if (info === undefined || !info.isFile()) return false;
    const relative = path.relative(this.root, real).split(path.sep);
    if (relative.some((segment) => segment.startsWith('.'))) return false;
    const encoded = `/${relative.map(encodeURIComponent).join('/')}`;
    // dotfiles and index are checked above; `send` repeats the dotfile rule as a guard.
    send(req, encoded, { root: this.root, index: false, dotfiles: 'ignore' }).pipe(res);
    return true;
  }
}

function redirect(res: ServerResponse, location: string): void {
  const body = `Redirecting to ${location}\n`;
  res.writeHead(301, {
    Location: location,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
