import { describe, expect, it } from "vitest";
import { exposureWarning, isLoopbackAddress, startHttp } from "../../src/agent/http.js";
import type { AgentMetrics } from "../../src/agent/metrics.js";
import { parseListen } from "../../src/config/schema.js";
import type { Logger } from "../../src/log.js";

describe("http.listen", () => {
  it.each([
    ["9464", { host: "127.0.0.1", port: 9464 }],
    [9464, { host: "127.0.0.1", port: 9464 }],
    [":9464", { host: "127.0.0.1", port: 9464 }],
    ["0.0.0.0:9464", { host: "0.0.0.0", port: 9464 }],
    ["[::1]:9464", { host: "::1", port: 9464 }],
    ["localhost:80", { host: "localhost", port: 80 }],
  ])("reads %j as %j: a bare port is loopback only", (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each(["", "host", "host:", "1.2.3.4:70000", "0", 0, 1.5])("refuses %j", (text) => {
    expect(() => parseListen(text)).toThrow(/must be|port must be/);
  });

  it.each(["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])("%s is loopback", (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
    expect(exposureWarning(a, "x")).toBeUndefined();
  });

  it.each([
    ["0.0.0.0", "every network interface"],
    ["::", "every network interface"],
    [undefined, "every network interface"],
    ["192.168.1.5", "a non-loopback address (192.168.1.5)"],
    ["::ffff:10.0.0.1", "a non-loopback address (::ffff:10.0.0.1)"],
  ])("%s gets a warning that other machines can read the endpoints", (a, what) => {
    expect(isLoopbackAddress(a ?? "")).toBe(false);
    expect(exposureWarning(a, "http://0.0.0.0:9464")).toBe(
      `http.listen: http://0.0.0.0:9464 listens on ${what}: /healthz and /metrics have no authentication, and other machines ` +
        `can read every job's status and last error there. Use "127.0.0.1:PORT" (or a bare port) unless that is intended and firewalled`,
    );
  });

  it("a listener on loopback starts without a warning, judged by the address it bound", async () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`) } as unknown as Logger;
    const server = await startHttp({ host: "localhost", port: 0 }, { logger, metrics: {} as AgentMetrics, status: () => ({ agents: [], healthy: true, jobs: [] }) });
    try {
      expect(lines.filter((l) => l.startsWith("warn"))).toEqual([]);
      expect(lines).toHaveLength(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("answers /livez while the process serves, and /readyz (and /healthz, its alias) by the jobs' health", async () => {
    const logger = { info: () => undefined, warn: () => undefined } as unknown as Logger;
    let healthy = true;
    const status = () => ({ agents: [], healthy, jobs: [{ job: "nightly", healthy, problem: healthy ? undefined : "last run failed" }] }) as never;
    const server = await startHttp({ host: "127.0.0.1", port: 0 }, { logger, metrics: {} as AgentMetrics, status });
    const port = (server.address() as { port: number }).port;
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { code: r.status, body: await r.text() };
    };
    try {
      expect(await get("/livez")).toMatchObject({ code: 200, body: expect.stringContaining('"status":"alive"') });
      expect(await get("/readyz")).toEqual({ code: 200, body: '{"status":"ok","jobs":{"nightly":"ok"}}\n' });
      healthy = false;
      // a failing job makes the agent not ready, never not alive (a restart would not fix a partner's server)
      expect((await get("/livez")).code).toBe(200);
      expect(await get("/readyz")).toEqual({ code: 503, body: '{"status":"unhealthy","jobs":{"nightly":"last run failed"}}\n' });
      expect(await get("/healthz")).toEqual(await get("/readyz"));
      expect(await get("/nothing")).toEqual({ code: 404, body: "not found: try /livez, /readyz or /metrics\n" });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
