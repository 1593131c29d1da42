import type { ServerConfig } from '../../shared/config';
import { httpHeaders } from './extra-headers';
import type { Refusals } from './refusal';
import { NOT_FOUND, type Route, type Router } from './router';
import type { StaticFiles } from './static-files';

/**
 * Plain HTTP as a websocketd user expects it: --header and --header-http on every
 * answer (refusals included), and with --staticdir the app's own files for any path
 * the built-in routes (/status, /publish, ...) do not take, its index.html at `/` in
 * place of the demo page.
 */
export function wireWebsocketdHttp(
  router: Router,
  refusals: readonly Refusals[],
  config: ServerConfig,
): void {
  const headers = httpHeaders(config.headers);
  router.always(headers);
  for (const each of refusals) each.always(headers);
  if (config.staticDir === undefined) return;
  // Loaded only with --staticdir: `send` and its 25 modules are 1.2 MB of the master's
  // memory, whose page tables every fork() of a worker copies.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { StaticFiles } = require('./static-files') as typeof import('./static-files');
  const files = StaticFiles.ofRealRoot(config.staticDir);
  router.fallback(({ req, res }) => files.serve(req, res));
  router.add('/', staticIndex(files));
}

/**
 * `/` with --staticdir: the directory's index.html. A directory without one gets a 404,
 * as any path with no file: the demo page belongs to the demo, not to the user's app.
 */
export function staticIndex(files: StaticFiles): Route {
  return {
    methods: ['GET', 'HEAD'],
    async handle({ req, res, refuse }) {
      if (!(await files.serve(req, res))) refuse(NOT_FOUND);
    },
  };
}
