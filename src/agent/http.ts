import { createServer, type Server } from "node:http";
import type { Logger } from "../log.js";
import { redact } from "../redact.js";
import type { AgentMetrics } from "./metrics.js";
import type { AgentStatus } from "./status.js";

/**
 * The operations listener, read-only:
 * - GET /livez: 200 while the agent's process serves requests (liveness: restart it if not);
 * - GET /readyz: 200 when every job is healthy, 503 otherwise, JSON body either way (/healthz is
 *   the same, kept for existing probes);
 * - GET /metrics: Prometheus text format.
 */
export async function startHttp(
  listen: { host: string; port: number },
  /** `status`: the agent's reads it in slices (collectStatusInSlices), letting other work run between them. */
  deps: { status: () => AgentStatus | Promise<AgentStatus>; metrics: AgentMetrics; logger: Logger },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/livez") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "alive", pid: process.pid }) + "\n");
      return;
    }
    if (path === "/readyz" || path === "/healthz") {
      void readiness(deps.status).then(({ code, body }) => {
        // A job's problem quotes its last run's error, which may quote a server's reply.
        res.writeHead(code, { "content-type": "application/json" }).end(redact(body) + "\n");
      });
      return;
    }
    if (path === "/metrics") {
      deps.metrics.scrape().then(
        (text) => res.writeHead(200, { "content-type": deps.metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(redact(err.message) + "\n"),
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /livez, /readyz or /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const where = `http://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
  deps.logger.info(`serving /livez, /readyz (and /healthz) and /metrics on ${where}`);
  // The address actually bound: a host name, "0.0.0.0" or "::" is judged by what it became.
  const bound = server.address();
  const warning = exposureWarning(typeof bound === "object" && bound ? bound.address : listen.host, where);
  if (warning) deps.logger.warn(warning);
  return server;
}

/** The answer of /readyz and /healthz: 200 when every job is healthy, 503 otherwise or when the status cannot be read. */
async function readiness(status: () => AgentStatus | Promise<AgentStatus>): Promise<{ code: number; body: string }> {
  try {
    const s = await status();
    return {
      code: s.healthy ? 200 : 503,
      body: JSON.stringify({
        status: s.healthy ? "ok" : "unhealthy",
        jobs: Object.fromEntries(s.jobs.map((j) => [j.job, j.healthy ? "ok" : j.problem])),
        // Jobs polling because the system's inotify watches ran out: working, but slower to react.
        ...(s.jobs.some((j) => j.watch?.mode === "polling") ? { watch: Object.fromEntries(s.jobs.flatMap((j) => (j.watch?.mode === "polling" ? [[j.job, `polling: ${j.watch.reason}`]] : []))) } : {}),
        // A failed reload: the agent runs on with its previous configuration, which needs fixing.
        ...(s.configProblem !== undefined && { config: s.configProblem }),
      }),
    };
  } catch (err) {
    return { code: 503, body: JSON.stringify({ status: "unhealthy", error: (err as Error).message }) };
  }
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x (as Node reports a bound address): only this machine can connect. */
export function isLoopbackAddress(address: string): boolean {
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address) || address === "::1";
}

/**
 * The endpoints have no authentication, and /healthz shows each job's last error: on an address
 * other machines can reach, anyone there can read them. Undefined when the address is loopback.
 */
export function exposureWarning(boundAddress: string | undefined, where: string): string | undefined {
  if (boundAddress && isLoopbackAddress(boundAddress)) return undefined;
  const what = !boundAddress || boundAddress === "0.0.0.0" || boundAddress === "::" ? "every network interface" : `a non-loopback address (${boundAddress})`;
  return (
    `http.listen: ${where} listens on ${what}: /healthz and /metrics have no authentication, and other machines ` +
    `can read every job's status and last error there. Use "127.0.0.1:PORT" (or a bare port) unless that is intended and firewalled`
  );
}
