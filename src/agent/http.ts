import { createServer, type Server } from "node:http";
import type { Logger } from "../log.js";
import { redact } from "../redact.js";
import type { AgentMetrics } from "./metrics.js";
import type { AgentStatus } from "./status.js";

/**
 * The operations listener: GET /healthz (200 when every job is healthy, 503 otherwise, JSON
 * body either way) and GET /metrics (Prometheus text format). Nothing else, no writes.
 */
export async function startHttp(
  listen: { host: string; port: number },
  deps: { status: () => AgentStatus; metrics: AgentMetrics; logger: Logger },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      let body: string;
      let code: number;
      try {
        const s = deps.status();
        code = s.healthy ? 200 : 503;
        body = JSON.stringify({
          status: s.healthy ? "ok" : "unhealthy",
          jobs: Object.fromEntries(s.jobs.map((j) => [j.job, j.healthy ? "ok" : j.problem])),
        });
      } catch (err) {
        code = 503;
        body = JSON.stringify({ status: "unhealthy", error: (err as Error).message });
      }
      // A job's problem quotes its last run's error, which may quote a server's reply.
      res.writeHead(code, { "content-type": "application/json" }).end(redact(body) + "\n");
      return;
    }
    if (path === "/metrics") {
      deps.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": deps.metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(redact(err.message) + "\n"),
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz or /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  deps.logger.info(`serving /healthz and /metrics on http://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`);
  return server;
}
