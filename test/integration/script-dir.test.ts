import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScriptDirectory } from '../../src/master/http/script-dir';
import { writeScript } from '../helpers/script';

/**
 * --dir against a real directory tree with hostile entries: links out, hidden files,
 * a FIFO, files without an execute bit.
 */
let base: string;
let dir: string;
let scripts: ScriptDirectory;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'push-ws-dir-'));
  dir = path.join(base, 'scripts');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeScript(path.join(dir, 'echo.sh'), 'echo hi');
  writeScript(path.join(dir, 'my script'), 'echo hi');
  writeScript(path.join(dir, 'sub', 'deep'), 'echo hi');
  writeScript(path.join(dir, 'sub', '.secret'), 'echo hi');
  writeScript(path.join(dir, '.hidden'), 'echo hi');
  writeScript(path.join(dir, 'plain.txt'), 'echo hi', 0o644);
  writeScript(path.join(outside, 'evil'), 'echo hi');
  symlinkSync(path.join(outside, 'evil'), path.join(dir, 'link-out'));
  symlinkSync(outside, path.join(dir, 'dir-out'));
  symlinkSync('echo.sh', path.join(dir, 'link-in'));
  symlinkSync('missing', path.join(dir, 'dangling'));
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  scripts = await ScriptDirectory.open(dir);
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('--dir resolves a request path to a script', () => {
  test.each([
    ['/echo.sh', 'echo.sh', '/echo.sh', ''],
    ['/echo.sh/', 'echo.sh', '/echo.sh', ''],
    ['/echo.sh/room/1', 'echo.sh', '/echo.sh', '/room/1'],
    ['/echo.sh/a%20b//c', 'echo.sh', '/echo.sh', '/a b/c'],
    ['/%65cho%2esh', 'echo.sh', '/echo.sh', ''],
    ['/my%20script', 'my script', '/my script', ''],
    ['/sub/deep/x', 'sub/deep', '/sub/deep', '/x'],
    ['//sub//deep', 'sub/deep', '/sub/deep', ''],
    ['/link-in/x', 'echo.sh', '/link-in', '/x'],
  ])('%s runs %s', async (request, file, scriptName, pathInfo) => {
    expect(await scripts.resolve(request)).toEqual({
      ok: true,
      value: { file: path.join(scripts.root, file), scriptName, pathInfo },
    });
  });

  test.each([
    ['the root', '/'],
    ['a directory', '/sub'],
    ['a missing file', '/nope'],
    ['a missing file in a directory', '/sub/nope/x'],
    ['a file without an execute bit', '/plain.txt'],
    ['a FIFO', '/fifo'],
    ['a dangling link', '/dangling'],
    ['a link to a file outside', '/link-out'],
    ['a link to a directory outside', '/dir-out/evil'],
    ['..', '/../outside/evil'],
    ['.. after a segment', '/sub/../../outside/evil'],
    ['encoded ..', '/%2e%2e/outside/evil'],
    ['encoded .. in upper case', '/%2E%2E/outside/evil'],
    ['encoded slashes', '/sub%2f..%2f..%2foutside%2fevil'],
    ['encoded backslashes', '/sub%5c..%5cecho.sh'],
    ['a NUL', '/echo.sh%00'],
    ['a NUL in the path info', '/echo.sh/a%00b'],
    ['a hidden file', '/.hidden'],
    ['a hidden file in a directory', '/sub/.secret'],
    ['an encoded hidden file', '/%2ehidden'],
    ['a hidden segment in the path info', '/echo.sh/.git'],
    ['a malformed escape', '/echo%zz'],
    ['bytes that are not UTF-8', '/echo.sh%ff'],
    ['a relative path', 'echo.sh'],
  ])('%s is not found (%s)', async (_name, request) => {
    expect(await scripts.resolve(request)).toMatchObject({ ok: false });
  });

  test('the reason tells the log why', async () => {
    expect(await scripts.resolve('/plain.txt')).toEqual({
      ok: false,
      error: 'not executable',
    });
    expect(await scripts.resolve('/link-out')).toEqual({
      ok: false,
      error: 'script outside the directory',
    });
  });

  test('a --dir that is not a directory is refused at start-up', async () => {
    await expect(ScriptDirectory.open(path.join(dir, 'echo.sh'))).rejects.toThrow(
      /not a directory/,
    );
    await expect(ScriptDirectory.open(path.join(base, 'absent'))).rejects.toThrow(/ENOENT/);
  });
});
