/**
 * A server reply as one short text for a message: "534 Request denied". The engine's replies and
 * ReplyErrors keep the reply's own text, code included ("534 Request denied"), so printing the code
 * before it again read "534 534 Request denied". A text without the code gets it in front.
 * Multi-line replies are joined on one line.
 */
export function replyText(code: number, message: string): string {
  const text = message.trim().replace(/\s*\r?\n\s*/g, " ");
  return new RegExp(`^${code}(?:[ -]|$)`).test(text) ? text : `${code} ${text}`.trimEnd();
}
