/**
 * A flag's values as one list: each value comma-separated (as websocketd takes its
 * lists), entries trimmed, blanks dropped (so `--flag ''` is an empty list). Pure.
 */
export function commaList(values: readonly string[]): string[] {
  return values
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
}
