/**
 * Names a server may list that must never be used, with the reason `unsafeNameReason` gives
 * (src/plan/names.ts): the one table for the name policy's own test and the listings' tests.
 */
export const UNSAFE_NAMES: [name: string, reason: string][] = [
  ["esc\x1b[31mred", "contains a control character (\\x1b)"],
  ["bell\x07", "contains a control character (\\x07)"],
  ["del\x7f", "contains a control character (\\x7f)"],
  ["c1\x9bcsi", "contains a control character (\\x9b)"],
  ["nel\x85", "contains a control character (\\x85)"],
  ["tab\there", "contains a control character (\\x09)"],
  ["invoice\u202etxt.exe", "contains a bidirectional control (\\u202e)"],
  ["lre\u202a", "contains a bidirectional control (\\u202a)"],
  ["isolate\u2066x\u2069", "contains a bidirectional control (\\u2066)"],
  ["nul\0", "contains NUL"],
  ["lf\nx", "contains CR or LF"],
];
