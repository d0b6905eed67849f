// Reviewed plans through the CLI on real servers: `plan <job> --out FILE` then `apply FILE`
// carries out exactly the plan; a file changed on either side after the plan makes apply exit 9
// with nothing done; a plan file edited to act outside the job folder is refused (exit 2).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { theOneObject } from "../helpers/json-shapes.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { type Workspace } from "../helpers/workspace.js";
import { useServer } from "../helpers/server-fixture.js";

requireServers("vsftpd", "proftpd", "pureftpd");

describe.each(["vsftpd", "proftpd", "pureftpd"] as ServerKind[])("reviewed plans on %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer(kind, { maxConnections: 2 }, (f) => ({ server, owner, ws } = f));
  let n = 0;

  /** An upload job (delete mirror) synced once with a.txt, b.txt and c.txt, then: a.txt edited, b.txt deleted, d.txt new. */
  const changedJob = async () => {
    const name = `job${++n}`;
    writeTree(server.root, { [`${name}/.keep`]: "" }, owner);
    rmSync(join(server.root, name, ".keep"));
    const local = ws.folder(`local${n}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "upload", delete: "mirror", maxDelete: 10, retries: { attempts: 1 } });
    writeTree(local, { "a.txt": "A", "b.txt": "B", "c.txt": "C" });
    const first = await ws.cli(["sync", name]);
    expect(first.code, first.stderr).toBe(0);
    writeTree(local, { "a.txt": "A, edited", "d.txt": "D" });
    rmSync(join(local, "b.txt"));
    return { name, local, remoteDir: join(server.root, name), planFile: join(ws.dir, `${name}.plan.json`) };
  };

  it("plan --out then apply: exactly the plan is carried out, and the run is in the history", async () => {
    const { name, remoteDir, planFile, local } = await changedJob();
    const planned = await ws.cli(["plan", name, "--out", planFile]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(`would upload 2 files`);
    expect(planned.stdout).toContain(`plan saved to ${planFile}`);
    const saved = JSON.parse(readFileSync(planFile, "utf8")) as { job: string; actions: { kind: string; path: string }[] };
    expect(saved.job).toBe(name);
    expect(saved.actions.map((a) => `${a.kind} ${a.path}`)).toEqual(["upload a.txt", "upload d.txt", "delete-remote b.txt"]);
    // Not in the plan: left for the next sync.
    writeTree(local, { "later.txt": "after the review" });

    const r = await ws.cli(["apply", planFile, "--json"]);
    const out = theOneObject(r.stdout, r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(out).toMatchObject({ schema: "ftps-sync/apply/v1", ok: true, kind: "apply", job: name, planFile, uploaded: 2, deletedRemote: 1, failed: 0 });
    expect(treeObject(remoteDir)).toEqual(treeObject(local, { skip: (p) => p === "later.txt" }));
    expect(existsSync(join(remoteDir, "later.txt"))).toBe(false);
    const history = await ws.cli(["history", name, "--json"]);
    expect((theOneObject(history.stdout) as { runs: { trigger: string; kind: string }[] }).runs[0]).toMatchObject({ trigger: "apply", kind: "sync" });
  });

  it("a two-way plan (a new file on each side) is applied as planned, the server's clock measured on the way", async () => {
    const name = `job${++n}`;
    writeTree(server.root, { [`${name}/from-server.txt`]: "S" }, owner);
    const local = ws.folder(`local${n}`);
    writeTree(local, { "from-here.txt": "L" });
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "two-way", retries: { attempts: 1 } });
    const planFile = join(ws.dir, `${name}.plan.json`);
    expect((await ws.cli(["plan", name, "--out", planFile])).code).toBe(0);
    const r = await ws.cli(["apply", planFile, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(theOneObject(r.stdout)).toMatchObject({ uploaded: 1, downloaded: 1, failed: 0 });
    expect(treeObject(join(server.root, name))).toEqual(treeObject(local));
    expect(Object.keys(treeObject(local)).sort()).toEqual(["from-here.txt", "from-server.txt"]);
  });

  it("a file changed on the server after the plan: apply exits 9 (plan-changed), names it, and does nothing", async () => {
    const { name, remoteDir, planFile, local } = await changedJob();
    expect((await ws.cli(["plan", name, "--out", planFile])).code).toBe(0);
    writeTree(remoteDir, { "b.txt": "a partner's new version" }, owner);
    const remoteBefore = treeObject(remoteDir);
    const r = await ws.cli(["apply", planFile, "--json"]);
    const out = theOneObject(r.stdout, r.stderr) as { error: { code: string; exitCode: number; message: string }; changed: { path: string; side: string }[] };
    expect(r.code, r.stderr).toBe(9);
    expect(out.error).toMatchObject({ code: "plan-changed", exitCode: 9 });
    expect(out.changed).toEqual([expect.objectContaining({ path: "b.txt", side: "remote" })]);
    expect(treeObject(remoteDir)).toEqual(remoteBefore);
    expect(readFileSync(join(local, "a.txt"), "utf8")).toBe("A, edited");
  });

  it("a file changed locally after the plan: apply exits 9 and says which, in text", async () => {
    const { name, remoteDir, planFile, local } = await changedJob();
    expect((await ws.cli(["plan", name, "--out", planFile])).code).toBe(0);
    writeFileSync(join(local, "d.txt"), "D, changed after the review");
    const remoteBefore = treeObject(remoteDir);
    const r = await ws.cli(["apply", planFile]);
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toMatch(/1 path\(s\) changed since the plan was made: d\.txt \(local: /);
    expect(treeObject(remoteDir)).toEqual(remoteBefore);
  });

  it("a plan edited by hand to download outside the job folder is refused (exit 2), and nothing is written there", async () => {
    const { name, planFile, local } = await changedJob();
    expect((await ws.cli(["plan", name, "--out", planFile])).code).toBe(0);
    const saved = JSON.parse(readFileSync(planFile, "utf8")) as { actions: unknown[]; basis: unknown[] };
    const path = "../escaped.txt";
    writeTree(join(server.root, name), { "escaped.txt": "from the server" }, owner);
    saved.actions.push({ kind: "download", path, reason: "edited", remote: { path, type: "file", size: 15, precision: "minute" }, placedLocal: true });
    saved.basis.push({ path, local: null, remote: { type: "file", size: 15 }, state: null });
    writeFileSync(planFile, JSON.stringify(saved));
    const r = await ws.cli(["apply", planFile, "--json"]);
    const out = theOneObject(r.stdout, r.stderr) as { error: { code: string; message: string } };
    expect(r.code, r.stderr).toBe(2);
    expect(out.error.code).toBe("config");
    expect(out.error.message).toContain('refusing a path outside the job folder: "../escaped.txt"');
    expect(existsSync(join(local, "..", "escaped.txt"))).toBe(false);
    expect(readFileSync(join(local, "a.txt"), "utf8")).toBe("A, edited");
  });
});
