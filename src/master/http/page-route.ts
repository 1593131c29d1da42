import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Route } from './router';

const CLIENT_PAGE = path.resolve(__dirname, '../../../../src/client/index.html');

/** GET /: the browser client page (the original's front.html, grown up). */
export function pageRoute(file = CLIENT_PAGE): Route {
  const page = readFileSync(file);
  return {
    methods: ['GET', 'HEAD'],
    handle({ res }) {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
      });
      res.end(page);
    },
  };
}
