import { textLine } from '../../src/master/observability/logger';

describe('a log line about an authenticated client', () => {
  test('the text line names the user, JSON-quoted after #ID and pid', () => {
    const line = textLine('Client #3 disconnected', { client: 3, pid: 99, user: '42' });
    expect(line).toMatch(/\] Client #3 disconnected \(pid 99, user "42"\)$/);
  });

  test('a user id cannot break the line or close the tag: it is quoted', () => {
    const line = textLine('Client #1 disconnected', {
      client: 1,
      pid: 5,
      user: 'x")\n[2026-01-01 00:00:00] forged',
    });
    expect(line).not.toContain('\n');
    expect(line).toMatch(/\(pid 5, user "x\\"\)\\n\[2026-01-01 00:00:00\] forged"\)$/);
  });

  test('an anonymous client has no user tag', () => {
    expect(textLine('Client #3 disconnected', { client: 3, pid: 99 })).not.toContain('user');
  });
});
