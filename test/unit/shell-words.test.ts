import { ShellWordsError, splitShellWords } from '../../src/master/cli/shell-words';

describe('splitting --exec as a POSIX shell does', () => {
  test.each([
    ['vmstat 1', ['vmstat', '1']],
    ["sh -c 'date; exec cat'", ['sh', '-c', 'date; exec cat']],
    ['  spaced   out\targs  ', ['spaced', 'out', 'args']],
    [`echo "a b" 'c d' e\\ f`, ['echo', 'a b', 'c d', 'e f']],
    [`echo "say \\"hi\\" \\$HOME \\n"`, ['echo', 'say "hi" $HOME \\n']],
    [`echo 'no $expansion or \\escapes'`, ['echo', 'no $expansion or \\escapes']],
    [`echo ""`, ['echo', '']],
    [`echo ''x`, ['echo', 'x']],
    [`a"b"'c'd`, ['abcd']],
    ['', []],
  ])('%s', (line, words) => {
    expect(splitShellWords(line)).toEqual(words);
  });

  test.each([`echo 'open`, `echo "open`, 'echo \\'])('%s is an error', (line) => {
    expect(() => splitShellWords(line)).toThrow(ShellWordsError);
  });
});
