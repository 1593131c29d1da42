/**
 * --quit-words: the client messages that end the client, as the original's "quit" and
 * "exit". With --exec, an empty list gives websocketd's behaviour: every message,
 * "quit" included, goes to the command. Pure.
 */
import { commaList } from './config';

export const DEFAULT_QUIT_WORDS: readonly string[] = ['quit', 'exit'];

/**
 * The flag's values as a list: repeatable and comma-separated ("quit,exit,bye"), blanks
 * dropped, so `--quit-words ''` turns the words off.
 */
export function parseQuitWords(values: readonly string[]): string[] {
  return commaList(values);
}

/** The quit word `text` is (surrounding spaces ignored, case kept), or undefined. */
export function quitWord(text: string, words: readonly string[]): string | undefined {
  const action = text.trim();
  return words.includes(action) ? action : undefined;
}
