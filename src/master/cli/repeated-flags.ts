/**
 * Finds a single-valued flag given more than once on the command line. yargs turns
 * `--host a --host b` into an array (the code then crashes, or quietly uses one of
 * them) and lets `--demo --no-demo` pass with the last one winning; both hide a
 * mistake, so the server refuses them. Booleans are counted too, under either spelling
 * (`--demo`, `--no-demo`), and camelCase spellings (`--maxClients`) as the kebab ones
 * yargs also accepts. Only flags named in `singleValued` count: an unknown flag is
 * left to yargs' strict mode, which names it. Nothing after a bare `--` is a flag. Pure.
 */
export function repeatedFlag(
  argv: readonly string[],
  singleValued: ReadonlySet<string>,
): string | undefined {
  const seen = new Set<string>();
  for (const token of argv) {
    if (token === '--') break;
    if (!token.startsWith('--')) continue;
    const name = flagName(token, singleValued);
    if (name === undefined) continue;
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/** `--max-clients=3`, `--maxClients`, `--no-demo` → the flag's kebab name, if known. */
function flagName(token: string, known: ReadonlySet<string>): string | undefined {
  const written = token.slice(2).split('=')[0];
  const kebab = written.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  if (known.has(kebab)) return kebab;
  if (kebab.startsWith('no-') && known.has(kebab.slice(3))) return kebab.slice(3);
  return undefined;
}

/**
 * The flags (of `known`, by their kebab names) that `argv` gives, in any spelling:
 * where a setting came from (src/master/config/). Nothing after a bare `--`. Pure.
 */
export function flagsGiven(argv: readonly string[], known: ReadonlySet<string>): Set<string> {
  const given = new Set<string>();
  for (const token of argv) {
    if (token === '--') break;
    if (!token.startsWith('--')) continue;
    const name = flagName(token, known);
    if (name !== undefined) given.add(name);
  }
  return given;
}
