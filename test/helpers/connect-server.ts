import type { RemoteConfig } from "../../src/config/types.js";
import { connectFtps, type FtpsConnection } from "../../src/protocol/connect.js";
import { Secret } from "../../src/secret.js";
import type { RunningServer } from "../servers/real-servers.js";

/** A remote configuration for a real test server, trusted through its CA (explicit TLS by default). */
export function remoteFor(server: Pick<RunningServer, "port" | "user" | "password" | "certPem">, overrides: Partial<RemoteConfig> = {}): RemoteConfig {
  return {
    name: "srv", host: "localhost", port: server.port, tls: "explicit", user: server.user, password: new Secret(server.password),
    ca: server.certPem, maxConnections: 1, timeoutMs: 15_000, maxTlsVersion: "1.3", ...overrides,
  };
}

/**
 * One logged-in connection to a real test server through the product's own engine, its commands
 * recorded (every command of every write, in order) when `sent` is given.
 */
export async function connectToServer(server: Pick<RunningServer, "port" | "user" | "password" | "certPem">, opts: { sent?: string[]; remote?: Partial<RemoteConfig> } = {}): Promise<FtpsConnection> {
  const c = await connectFtps(remoteFor(server, opts.remote));
  if (opts.sent) c.client.control.onWrite = (commands) => void opts.sent!.push(...commands);
  return c;
}
