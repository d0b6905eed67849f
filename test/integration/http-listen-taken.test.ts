// `run` with an http.listen it cannot serve (the port taken by another process) stops at once with
// exit 8 and a message that says why, instead of running on without the endpoint its probes expect.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";

describe("ftps-sync run, http.listen on a port another process holds", () => {
  let holder: net.Server;
  let port: number;
  let ws: Workspace;
  beforeAll(async () => {
    holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    port = (holder.address() as net.AddressInfo).port;
    // No server is needed: the agent stops before any job runs.
    ws = makeWorkspace({ host: "127.0.0.1", port: 9, user: "u", password: "listen-test-pw-7Qz" }, { fingerprint: `sha256:${"AB:".repeat(31)}AB` }, { http: { listen: `127.0.0.1:${port}` } });
    ws.writeJob("nightly", { remote: "srv", remotePath: "/x", local: ws.folder("local"), direction: "upload", schedule: "0 3 * * *" });
  });
  afterAll(async () => {
    ws?.cleanup();
    await new Promise((r) => holder?.close(r));
  });

  it("exits 8 within seconds, naming the address and that the port is taken, and runs nothing", async () => {
    const started = Date.now();
    const r = await ws.cli(["run"]);
    expect(r.code, r.stdout + r.stderr).toBe(8);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toContain(`http.listen: cannot listen on 127.0.0.1:${port}: the port is taken by another process (EADDRINUSE)`);
    expect(r.stderr).not.toMatch(/agent started/);
    const status = await ws.cli(["status", "--json"]);
    expect(JSON.parse(status.stdout.trim().split("\n").at(-1)!)).toMatchObject({ agents: [] });
  });
});
