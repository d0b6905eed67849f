import { isIP } from "node:net";

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^::ffff:/i, "");
  if (isIP(a) === 4) return a.startsWith("127.");
  return a === "::1";
}
