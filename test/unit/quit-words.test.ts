import { DEFAULT_QUIT_WORDS, parseQuitWords, quitWord } from '../../src/shared/quit-words';

describe('--quit-words', () => {
  test('by default "quit" and "exit", surrounding spaces ignored, case kept', () => {
    expect(quitWord(' quit\n', DEFAULT_QUIT_WORDS)).toBe('quit');
    expect(quitWord('exit', DEFAULT_QUIT_WORDS)).toBe('exit');
    expect(quitWord('QUIT', DEFAULT_QUIT_WORDS)).toBeUndefined();
    expect(quitWord('quit now', DEFAULT_QUIT_WORDS)).toBeUndefined();
  });

  test('repeatable and comma-separated; an empty value turns them off (websocketd)', () => {
    expect(parseQuitWords(['bye, ciao', 'stop'])).toEqual(['bye', 'ciao', 'stop']);
    expect(parseQuitWords([''])).toEqual([]);
    expect(quitWord('quit', parseQuitWords(['']))).toBeUndefined();
  });
});
