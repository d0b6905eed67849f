import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { startHttp } from "../../src/agent/http.js";
import type { AgentMetrics } from "../../src/agent/metrics.js";
import { redactWritesTo } from "../../src/cli/redacted-output.js";
import { redact, redactDeep, registerSecret } from "../../src/redact.js";
import { Secret } from "../../src/secret.js";
import { openState } from "../../src/state/index.js";
import { silentLogger } from "../../src/log.js";
import { testTempDir } from "../helpers/temp-dir.js";

describe("redact", () => {
  it("replaces a long secret wherever it appears, even inside other text", () => {
    registerSecret("S3cret-passw0rd");
    expect(redact("PASS S3cret-passw0rd")).toBe("PASS [redacted]");
    expect(redact("xxS3cret-passw0rdyy")).toBe("xx[redacted]yy");
  });

  it("replaces a short secret only where it stands alone, so it neither garbles words nor gives itself away", () => {
    registerSecret("x");
    expect(redact("cannot connect (127.0.0.1:21, explicit TLS)")).toBe("cannot connect (127.0.0.1:21, explicit TLS)");
    expect(redact("PASS x")).toBe("PASS [redacted]");
    expect(redact("user:x@host")).toBe("user:[redacted]@host");
  });

  it("treats regular-expression characters in a secret literally", () => {
    registerSecret("a.b*c(d)");
    expect(redact("got a.b*c(d) and aXbbc(d)")).toBe("got [redacted] and aXbbc(d)");
  });

  it("knows every Secret as soon as it is made, with nothing else to call", () => {
    new Secret("Made-by-a-Secret-41x");
    expect(redact("550 no access for bob/Made-by-a-Secret-41x")).toBe("550 no access for bob/[redacted]");
  });

  it("finds a secret with a quote or a backslash in JSON text too, and the JSON stays valid", () => {
    const secret = 'q"uo\\te-Secret-77';
    registerSecret(secret);
    const json = JSON.stringify({ error: `550 refused for ${secret}` });
    expect(json).not.toContain(secret); // escaped in JSON: the raw form alone would miss it
    expect(JSON.parse(redact(json))).toEqual({ error: "550 refused for [redacted]" });
  });

  it("replaces a secret that contains another one whole", () => {
    registerSecret("inner-Secret-12");
    registerSecret("outer-inner-Secret-12-tail");
    expect(redact("got outer-inner-Secret-12-tail")).toBe("got [redacted]");
  });

  it("redacts every string of a nested value, keys included, and leaves the rest", () => {
    registerSecret("Deep-Secret-903");
    expect(redactDeep({ a: ["see Deep-Secret-903", 3, null], "Deep-Secret-903": { b: "Deep-Secret-903" }, ok: true })).toEqual({
      a: ["see [redacted]", 3, null],
      "[redacted]": { b: "[redacted]" },
      ok: true,
    });
  });
});

describe("the redaction choke points", () => {
  const SECRET = "Choke-Point-Secret-5510";
  registerSecret(SECRET);

  it("a run's error is stored without the secret", () => {
    const state = openState(testTempDir("redact-state"));
    try {
      const id = state.runs.start("job", "cli", false);
      const zero = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 1, bytes: 0 };
      state.runs.finish(id, "failed", zero, `upload a.txt: 550 STOR refused for alice/${SECRET}`);
      expect(state.runs.last("job")?.error).toBe("upload a.txt: 550 STOR refused for alice/[redacted]");
      state.capabilities.save({ remote: "srv", host: "h", port: 21, features: { [`X-${SECRET}`]: SECRET }, probedAt: 1 });
      expect(state.capabilities.get("srv")?.features).toEqual({ "X-[redacted]": "[redacted]" });
    } finally {
      state.close();
    }
  });

  it("a stream wrapped by the CLI writes strings and bytes without the secret", async () => {
    const written: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    redactWritesTo(sink);
    sink.write(`{"error":"refused ${SECRET}"}\n`);
    sink.write(Buffer.from(`stderr ${SECRET}\n`));
    await new Promise<void>((r) => sink.write("", () => r()));
    expect(written.join("")).toBe('{"error":"refused [redacted]"}\nstderr [redacted]\n');
  });

  it("/healthz answers without the secret", async () => {
    const server = await startHttp(
      { host: "127.0.0.1", port: 0 },
      {
        logger: silentLogger(),
        metrics: {} as AgentMetrics,
        status: () => ({ agents: [], healthy: false, jobs: [{ job: "j", direction: "upload", triggers: [], queued: false, healthy: false, problem: `last run failed: 530 ${SECRET}` }] }),
      },
    );
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unhealthy", jobs: { j: "last run failed: 530 [redacted]" } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
