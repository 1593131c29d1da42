import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { NODE_ARGS, ROOT } from '../helpers/server';

/**
 * The documentation a reader follows: every relative link in README.md and docs/*.md
 * leads somewhere (the file exists; an #anchor is a heading of the target as GitHub
 * names it), and the CLI reference names every flag `--help` shows.
 */

const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text of a page without fenced code blocks and inline code: links there are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Inline links and images: `[text](target)`, `![alt](target "title")`. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(
    /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
  )) {
    targets.push(match[1]);
  }
  return targets;
}

/**
 * A heading's anchor as GitHub makes it: the rendered text lower-cased, everything but
 * letters, digits, `_`, `-` and spaces dropped, spaces as `-`; a repeated one gets -1, -2.
 */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = match[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, ''); // inline HTML
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The worker bundle's lazy parts (scripts/bundle-worker.js): built files, no source of their own. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain build script
const { LAZY_PARTS } = require('../../scripts/bundle-worker') as {
  LAZY_PARTS: Record<string, string>;
};
const LAZY_FILES = Object.values(LAZY_PARTS).map((file) => `dist/workers/${file}`);

const read = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

async function runHelp(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [...NODE_ARGS, '--help'], {
    cwd: ROOT,
    timeout: 10000,
  });
  return stdout;
}

/** `--flag` names at the start of `--help`'s option lines, by the group they are listed in. */
function helpFlags(help: string): Map<string, string> {
  const groups = new Map<string, string>();
  let group = '';
  for (const line of help.split('\n')) {
    const heading = /^(\S.*):$/.exec(line);
    if (heading !== null) group = heading[1];
    const flag = /^\s+(--[a-z][a-z0-9-]*)/.exec(line);
    if (flag !== null) groups.set(flag[1], group);
  }
  return groups;
}

describe('documentation links', () => {
  test('README.md stays a page a newcomer reads in five minutes (under 350 lines)', () => {
    // What grows past it belongs in a docs/ page, linked from the README.
    expect(read('README.md').split('\n').length).toBeLessThan(350);
  });

  test('the slugger names headings as GitHub does', () => {
    expect([
      ...anchorsOf(
        '# Behind a proxy (TLS)\n## Push from anywhere: `POST /publish`\n## A, b\n## A, b\n```\n# not a heading\n```',
      ),
    ]).toEqual(['behind-a-proxy-tls', 'push-from-anywhere-post-publish', 'a-b', 'a-b-1']);
  });

  test.each(PAGES)('every relative link in %s resolves', (page) => {
    const broken: string[] = [];
    for (const target of linkTargets(read(page))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [file, anchor] = target.split('#', 2);
      const resolved =
        file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      if (resolved.startsWith('..') || !existsSync(path.join(ROOT, resolved))) {
        broken.push(`${target} (no file ${resolved})`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!resolved.endsWith('.md')) {
        broken.push(`${target} (an anchor into a file that is not markdown)`);
      } else if (!anchorsOf(read(resolved)).has(decodeURIComponent(anchor))) {
        broken.push(`${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });
});

/** Every file and folder under `dir` (repository-relative, folders with a trailing `/`). */
function tree(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) found.push(`${relative}/`, ...tree(relative));
    else found.push(relative);
  }
  return found;
}

describe('the repository paths the pages name', () => {
  test.each(PAGES)('every path %s names exists (a move or a rename shows here)', (page) => {
    const missing: string[] = [];
    const paths = read(page).matchAll(
      /(?<![\w./-])((?:dist\/)?(?:src|workers|scripts|test|deploy|docs)\/[\w./-]*[\w/])/g,
    );
    for (const [, named] of paths) {
      if (named.endsWith('.bundle.js') || LAZY_FILES.includes(named)) continue; // built by npm run build
      // A compiled file (dist/scripts/bench/x.js) is named for its source.
      const source = named.replace(/^dist\/(.*)\.js$/, '$1.ts');
      const found = [source, `${source}.ts`].some((file) => existsSync(path.join(ROOT, file)));
      if (!found) missing.push(named);
    }
    expect(missing).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  const page = read('docs/architecture.md');
  const sources = [...tree('src'), ...tree('workers'), ...tree('scripts'), ...tree('test')];
  const spans = [...page.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]);

  test('every source file and folder it names exists (a move or a rename shows here)', () => {
    const stale: string[] = [];
    for (const span of spans) {
      // Files and folders (`pool/`, `broker/types.ts`); not URL paths (`/client.js`) or dist/.
      if (!/^[\w.-][\w./-]*(\.(ts|js|html)|\/)$/.test(span) || span.startsWith('dist/')) continue;
      // A path from the top (src/master/) exists as it is; a short one (broker/types.ts) somewhere.
      const exists = /^(src|workers|scripts|test|deploy|docs)\//.test(span)
        ? existsSync(path.join(ROOT, span))
        : sources.some((file) => file.endsWith(`/${span}`));
      if (!exists) stale.push(span);
    }
    expect(stale).toEqual([]);
  });

  test('it names every folder of src/ and workers/', () => {
    const folders = [...tree('src'), ...tree('workers')].filter((entry) => entry.endsWith('/'));
    const named = (folder: string): boolean =>
      spans.some((span) => span.startsWith(folder) || folder.endsWith(`/${span}`));
    expect(folders.filter((folder) => !named(folder))).toEqual([]);
  });
});

describe('the CLI reference', () => {
  let help: string;
  beforeAll(async () => {
    help = await runHelp();
  });

  test('docs/cli.md names every flag --help shows', () => {
    const reference = read('docs/cli.md');
    const flags = [...helpFlags(help).keys()];
    expect(flags.length).toBeGreaterThan(30);
    const missing = flags.filter((flag) => !reference.includes(`\`${flag}\``));
    expect(missing).toEqual([]);
  });

  test('every flag is in a --help group (only --help and --version are left under "Options")', () => {
    const ungrouped = [...helpFlags(help)]
      .filter(([, group]) => group === 'Options')
      .map(([flag]) => flag)
      .filter((flag) => flag !== '--help' && flag !== '--version');
    // A new flag goes into HELP_GROUPS beside OPTIONS in the CLI's source.
    expect(ungrouped).toEqual([]);
  });

  test('every flag README.md and docs/cli.md name is one the server takes', () => {
    const known = new Set(helpFlags(help).keys());
    const takes = (flag: string): boolean =>
      known.has(flag) || (flag.startsWith('--no-') && known.has(`--${flag.slice(5)}`));
    const unknown: string[] = [];
    for (const page of ['README.md', 'docs/cli.md']) {
      // A flag as written in code spans: `--port`, `--port 8080`, `--log-*` and `--header*` name groups.
      for (const match of read(page).matchAll(/`(--[a-z][a-z0-9-]*)(\*|-\*)?[^`]*`/g)) {
        const [, flag, wildcard] = match;
        const ok =
          wildcard === undefined
            ? takes(flag)
            : [...known].some((name) => name.startsWith(wildcard === '-*' ? `${flag}-` : flag));
        if (!ok) unknown.push(`${page}: ${match[0]}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
