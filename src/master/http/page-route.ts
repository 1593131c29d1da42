import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Route } from './router';

/** What scripts/bundle-client.js builds (this file runs from dist/src/master/http/). */
const BUILT_CLIENT = path.resolve(__dirname, '../../../client');

/** GET /: the browser client page (the original's front.html, grown up), built with its script. */
export function pageRoute(file = path.join(BUILT_CLIENT, 'index.html')): Route {
  return builtFileRoute(file, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-cache',
  });
}

/**
 * GET /client.js: the client library as an ES module, for `<script type="module">` and
 * `import` from any page: module scripts are fetched with CORS, hence the
 * Access-Control-Allow-Origin (the file is public). Cached, and revalidated with its
 * ETag, so that a new server's library is picked up at once.
 */
export function clientScriptRoute(file = path.join(BUILT_CLIENT, 'client.js')): Route {
  return builtFileRoute(file, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': 'no-cache',
    'Access-Control-Allow-Origin': '*',
    'X-Content-Type-Options': 'nosniff',
  });
}

/** A file read once at start, answered whole, or 304 when the client has it (If-None-Match). */
function builtFileRoute(file: string, headers: Record<string, string>): Route {
  const body = readFileSync(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return {
    methods: ['GET', 'HEAD'],
    handle({ req, res }) {
      const known = req.headers['if-none-match'];
      if (known !== undefined && known.split(/\s*,\s*/).includes(etag)) {
        res.writeHead(304, { ETag: etag, 'Cache-Control': headers['Cache-Control'] });
        res.end();
        return;
      }
      res.writeHead(200, { ...headers, ETag: etag, 'Content-Length': body.length });
      res.end(body);
    },
  };
}
