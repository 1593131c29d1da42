/**
 * The `default` of a switch that must handle every member of a union: a member left out
 * makes `value` something other than `never`, and the call stops compiling. At run time
 * (a peer sent what the types rule out) it throws, naming the value.
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(value)}`);
}
