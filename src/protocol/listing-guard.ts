/**
 * A listing whose final reply is positive but says it failed. vsftpd answers a LIST of a folder
 * it cannot read with "226 Transfer done (but failed to open directory)." and an empty listing:
 * taken at its word, every file below that folder looks deleted on the server. Such a reply is
 * turned into a 550 so the folder counts as not listed (and nothing below it is deleted).
 */
const FAILED_LISTING = /\bfail(ed|ure)?\b|\bdenied\b|\bcannot\b|\bcan't\b|\bunable\b|\berror\b/i;

export function isFailedListingReply(code: number, message: string): boolean {
  return code >= 200 && code < 300 && FAILED_LISTING.test(message.replace(/^\d{3}[ -]/, ""));
}
