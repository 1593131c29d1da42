/**
 * Makes any text safe to put in one log line. Clients, requests and commands supply
 * much of what is logged (messages, paths, headers, stderr lines, command names); a
 * newline in it could forge a whole log line (`hello\n[2026-11-26 21:00:00] Received
 * SIGTERM...`), and an escape sequence could rewrite a terminal reading the log. So
 * every C0 control (newline, carriage return and tab included), DEL, every C1 control
 * (U+0080..U+009F, which some terminals obey as ESC sequences) and the JavaScript line
 * separators U+2028/U+2029 are written as `\xNN` / `\uNNNN`. Everything else is kept
 * as it is (invalid UTF-8 has already become U+FFFD when it was decoded). Pure.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeOne(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}
