/**
 * Splits a command line into words as a POSIX shell would, without running one:
 * blanks separate words; 'single quotes' keep everything literally; "double quotes"
 * keep blanks and let a backslash escape $ ` " \ and newline; outside quotes a
 * backslash escapes any character. No expansion of any kind happens. Pure.
 */
export class ShellWordsError extends Error {}

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError('unterminated single quote');
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (char === '"') {
      i = readDoubleQuoted(line, i + 1, (text) => (word += text));
      inWord = true;
    } else if (char === '\\') {
      if (i + 1 >= line.length) throw new ShellWordsError('trailing backslash');
      i++;
      if (line[i] !== '\n') word += line[i];
      inWord = true;
    } else if (char === ' ' || char === '\t' || char === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Reads from just after an opening double quote; returns the index of the closing one. */
function readDoubleQuoted(line: string, start: number, append: (text: string) => void): number {
  for (let i = start; i < line.length; i++) {
    const char = line[i];
    if (char === '"') return i;
    if (char === '\\' && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1])) {
      i++;
      if (line[i] !== '\n') append(line[i]);
    } else {
      append(char);
    }
  }
  throw new ShellWordsError('unterminated double quote');
}
