import { BlockList, isIP } from "node:net";

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^::ffff:/i, "");
  if (isIP(a) === 4) return a.startsWith("127.");
  return a === "::1";
}

/** RFC 1918 and RFC 4193: the addresses of a LAN, where a server behind NAT believes it is. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet("10.0.0.0", 8);
PRIVATE.addSubnet("172.16.0.0", 12);
PRIVATE.addSubnet("192.168.0.0", 16);
PRIVATE.addSubnet("fc00::", 7, "ipv6");

/** Addresses no data connection can reach across the internet: unspecified, link-local, shared (CGNAT), reserved. */
const UNROUTABLE = new BlockList();
UNROUTABLE.addSubnet("0.0.0.0", 8);
UNROUTABLE.addSubnet("100.64.0.0", 10);
UNROUTABLE.addSubnet("169.254.0.0", 16);
UNROUTABLE.addSubnet("192.0.0.0", 24);
UNROUTABLE.addSubnet("224.0.0.0", 3);
UNROUTABLE.addSubnet("fe80::", 10, "ipv6");
UNROUTABLE.addAddress("::", "ipv6");

export type AddressKind = "loopback" | "private" | "unroutable" | "public";

/** What kind of address `address` is, for messages about an address a server named. */
export function addressKind(address: string): AddressKind {
  const a = address.replace(/^::ffff:/i, "");
  if (isLoopbackAddress(a)) return "loopback";
  const family = isIP(a) === 6 ? "ipv6" : "ipv4";
  if (PRIVATE.check(a, family)) return "private";
  if (UNROUTABLE.check(a, family)) return "unroutable";
  return "public";
}
