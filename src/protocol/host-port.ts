/**
 * "host:port" as a user writes it back (in `ftps-sync fingerprint`, a URL): an IPv6 address in
 * brackets, "[::1]:990", since "::1:990" reads as another address.
 */
export function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
