import { assertNever } from '../../src/shared/assert-never';

type Shape = { kind: 'circle' } | { kind: 'square' };

function name(shape: Shape): string {
  switch (shape.kind) {
    case 'circle':
      return 'circle';
    case 'square':
      return 'square';
    default:
      return assertNever(shape, 'shape');
  }
}

describe('assertNever', () => {
  test('a value the types rule out, sent anyway, throws naming it', () => {
    expect(name({ kind: 'circle' })).toBe('circle');
    expect(() => name({ kind: 'hexagon' } as unknown as Shape)).toThrow(
      'Unhandled shape: {"kind":"hexagon"}',
    );
  });

  test('a switch missing a member does not compile (checked by tsc in npm run lint)', () => {
    const partial = (shape: Shape): string => {
      switch (shape.kind) {
        case 'circle':
          return 'circle';
        default:
          // @ts-expect-error: 'square' is not handled, so shape is not never here
          return assertNever(shape);
      }
    };
    expect(() => partial({ kind: 'square' })).toThrow('Unhandled value');
  });
});
