// Reviewed plans on the in-memory server: `plan --out` saves the plan with what it was based on,
// `apply` carries out exactly that plan, and refuses (exit 9, nothing done) when either side, the
// state or the job changed in a way the plan did not foresee, or when the file was edited to act
// outside the job folder.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, ExitCode, PlanChangedError } from "../../src/errors.js";
import { silentLogger } from "../../src/log.js";
import { parseSavedPlan } from "../../src/plan/plan-file.js";
import type { ServerClockKnowledge } from "../../src/remote/remote-folder.js";
import { jobIdentity, type SavedPlan } from "../../src/plan/saved-plan.js";
import { applyPhases, savedPlanOf } from "../../src/sync/apply-plan.js";
import type { Gathered } from "../../src/sync/gather.js";
import type { Plan } from "../../src/sync/plan-run.js";
import { runJob } from "../../src/sync/run-job.js";
import { at, engine, filesOf, type Engine } from "./harness.js";

/** Plans the job as `plan --out` does and reads the plan back as `apply` reads the file. */
async function savePlan(e: Engine, config = e.config): Promise<SavedPlan> {
  const now = new Date();
  let planned: { plan: Plan; gathered: Gathered } | undefined;
  const s = await e.run({ dryRun: true, now, onPlanned: (plan, gathered) => (planned = { plan, gathered }) });
  expect(s.status).toBe("ok");
  const job = config.jobs.job;
  const saved = savedPlanOf({
    plan: planned!.plan, gathered: planned!.gathered, job: "job", config: config.configPath,
    identity: jobIdentity(job, config.remotes[job.remote]), force: false, createdAt: now,
  });
  return parseSavedPlan(JSON.stringify(saved), "plan.json");
}

const apply = (e: Engine, saved: SavedPlan, config = e.config) =>
  runJob(config, e.state, "job", { logger: silentLogger(), remote: e.remote, trigger: "apply" }, applyPhases(saved));

/** The planned actions as "kind path", bookkeeping included. */
const steps = (actions: { kind: string; path: string }[]) => actions.map((a) => `${a.kind} ${a.path}`);

/** An upload job (delete mirror) synced once with a.txt, b.txt, c.txt and old/x.txt, then: a.txt edited, b.txt deleted, d.txt new. */
async function uploadWithChanges(): Promise<Engine> {
  const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10 } });
  for (const [p, c] of Object.entries({ "a.txt": "A", "b.txt": "B", "c.txt": "C", "old/x.txt": "X" })) e.writeLocal(p, c);
  expect(await e.run()).toMatchObject({ status: "ok", uploaded: 4 });
  e.writeLocal("a.txt", "A, edited", at(5));
  rmSync(join(e.local, "b.txt"));
  e.writeLocal("d.txt", "D");
  return e;
}

/** What `apply` must leave untouched when it refuses: both trees and the state. */
function snapshot(e: Engine) {
  return { local: e.localTree(), remote: e.remoteTree(), state: [...e.stateRows().values()] };
}

async function refused(e: Engine, saved: SavedPlan, config = e.config): Promise<PlanChangedError> {
  const before = snapshot(e);
  const err = await apply(e, saved, config).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(err).toBeInstanceOf(PlanChangedError);
  expect((err as PlanChangedError).exitCode).toBe(ExitCode.PlanChanged);
  expect(snapshot(e), "nothing done").toEqual(before);
  return err as PlanChangedError;
}

describe("apply carries out exactly the saved plan", () => {
  it("with both sides as the plan saw them, does the plan's actions and no other, even a change made since elsewhere", async () => {
    const e = await uploadWithChanges();
    const saved = await savePlan(e);
    expect(steps(saved.actions)).toEqual(["upload a.txt", "upload d.txt", "delete-remote b.txt"]);
    // A change the plan does not know of, on a path it does not touch: left for the next sync.
    e.writeLocal("later.txt", "made after the review");
    const s = await apply(e, saved);
    expect(s).toMatchObject({ status: "ok", dryRun: false, uploaded: 2, deletedRemote: 1, failed: 0 });
    expect(steps(s.plan)).toEqual(steps(saved.actions));
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "A, edited", "c.txt": "C", "d.txt": "D", "old/x.txt": "X" });
    expect(s.warnings.join("\n")).toContain("1 other change(s) since the plan was made are not part of it");
    expect(e.state.runs.history("job", 1)[0]).toMatchObject({ trigger: "apply", dryRun: false, status: "ok", uploaded: 2 });
  });

  it("a two-way conflict kept as both is carried out under the name the plan showed", async () => {
    const e = engine({ job: { direction: "two-way", onConflict: "keep-both" } });
    e.writeLocal("doc.txt", "v1");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    e.writeLocal("doc.txt", "local edit", at(10));
    e.putRemote("doc.txt", "remote edit!", at(11));
    const saved = await savePlan(e);
    const conflict = saved.actions.find((a) => a.kind === "conflict");
    expect(conflict).toMatchObject({ resolution: "keep-both" });
    const name = (conflict as { conflictName: string }).conflictName;
    const s = await apply(e, saved);
    expect(s).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readLocal(name)).toBe("remote edit!");
    expect(e.readRemote(name)).toBe("remote edit!");
    expect(e.readRemote("doc.txt")).toBe("local edit");
  });
  it("an upload job whose remote folder does not exist yet: the plan creates it first, and so does apply", async () => {
    const e = engine({ job: { direction: "upload" } });
    await e.remote.removeDir("/job");
    e.writeLocal("first.txt", "1");
    const saved = await savePlan(e);
    expect(steps(saved.actions)).toEqual(["mkdir-remote ", "upload first.txt"]);
    expect(await apply(e, saved)).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.readRemote("first.txt")).toBe("1");
  });

  it("a trustRemote upload job (the state stands for the server): applied, and refused once a local file changed", async () => {
    const e = engine({ job: { direction: "upload", trustRemote: true } });
    e.writeLocal("a.txt", "A");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    e.writeLocal("a.txt", "A2", at(1));
    const saved = await savePlan(e);
    expect(steps(saved.actions)).toEqual(["upload a.txt"]);
    expect(await apply(e, saved)).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.readRemote("a.txt")).toBe("A2");
    e.writeLocal("a.txt", "A3", at(2));
    const next = await savePlan(e);
    e.writeLocal("a.txt", "A4, after the review", at(3));
    expect((await refused(e, next)).changed.map((c) => `${c.side} ${c.path}`)).toEqual(["local a.txt"]);
  });
});

describe("apply refuses a plan that no longer holds: exit 9, nothing done, the paths named", () => {
  it("a file the plan uploads, edited locally since", async () => {
    const e = await uploadWithChanges();
    const saved = await savePlan(e);
    e.writeLocal("a.txt", "A, edited again after the review", at(20));
    const err = await refused(e, saved);
    expect(err.changed).toEqual([expect.objectContaining({ path: "a.txt", side: "local" })]);
    expect(err.message).toContain("a.txt (local: file of 9 bytes");
    expect(e.state.runs.history("job", 1)[0]).toMatchObject({ trigger: "apply", status: "aborted" });
  });

  it("a file the plan deletes on the server, changed there since", async () => {
    const e = await uploadWithChanges();
    const saved = await savePlan(e);
    e.putRemote("b.txt", "someone's new version", at(30));
    const err = await refused(e, saved);
    expect(err.changed).toEqual([expect.objectContaining({ path: "b.txt", side: "remote" })]);
  });

  it("a file the plan downloads, changed on the server since", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("report.csv", "1,2,3");
    const saved = await savePlan(e);
    expect(steps(saved.actions)).toEqual(["download report.csv"]);
    e.putRemote("report.csv", "1,2,3,4", at(1));
    const err = await refused(e, saved);
    expect(err.changed.map((c) => `${c.side} ${c.path}`)).toEqual(["remote report.csv"]);
  });

  it("a folder the plan deletes, that holds a new file since", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10 } });
    e.writeLocal("keep.txt", "K");
    e.writeLocal("old/x.txt", "X");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2 });
    rmSync(join(e.local, "old"), { recursive: true });
    const saved = await savePlan(e);
    expect(steps(saved.actions)).toEqual(["delete-remote old/x.txt", "delete-remote old"]);
    e.putRemote("old/new.txt", "dropped by a partner after the review");
    const err = await refused(e, saved);
    expect(err.changed).toEqual([expect.objectContaining({ path: "old", side: "remote" })]);
    expect(e.readRemote("old/new.txt")).toBe("dropped by a partner after the review");
  });

  it("a sync that ran between the plan and the apply", async () => {
    const e = await uploadWithChanges();
    const saved = await savePlan(e);
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2 });
    const err = await refused(e, saved);
    expect(new Set(err.changed.map((c) => c.path))).toEqual(new Set(["a.txt", "b.txt", "d.txt"]));
  });

  it("a two-way conflict decided by newer-wins, when the server's clock learnt since makes the other side the newer", async () => {
    const e = engine({ job: { direction: "two-way", onConflict: "newer-wins" } });
    e.writeLocal("doc.txt", "v1");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    e.writeLocal("doc.txt", "local edit", at(10));
    e.putRemote("doc.txt", "remote edit, listed a minute later", at(11));
    const saved = await savePlan(e);
    expect(saved.actions).toEqual([expect.objectContaining({ kind: "conflict", resolution: "download" })]);
    // Learnt after the review (a sync's clock probe, say): the server lists its times 2 h ahead of UTC.
    const clock: ServerClockKnowledge = { known: { listingMs: 2 * 3_600_000 } };
    Object.assign(e.remote, { serverClock: clock });
    const err = await refused(e, saved);
    expect(err.message).toContain("doc.txt (state: conflict planned -> not an action the job would take now)");
    expect(e.readLocal("doc.txt")).toBe("local edit");
  });

  it("a job whose direction, folder or remote changed since the plan", async () => {
    const e = await uploadWithChanges();
    const saved = await savePlan(e);
    const job = e.config.jobs.job;
    for (const changed of [{ direction: "two-way" as const }, { remotePath: "/elsewhere" }, { local: join(e.dir, "other") }]) {
      const config = { ...e.config, jobs: { job: { ...job, ...changed } } };
      const err = await refused(e, saved, config);
      expect(err.message).toMatch(/the job job changed since the plan was made \((direction|remotePath|local folder): /);
    }
  });

  it("an action added by hand that the job would not take (a delete of a file that is on both sides)", async () => {
    const e = await uploadWithChanges();
    const saved = await savePlan(e);
    const edited = JSON.parse(JSON.stringify(saved)) as SavedPlan;
    edited.actions.push({ kind: "delete-remote", path: "c.txt", reason: "added by hand", type: "file" });
    edited.basis.push({ path: "c.txt", local: { type: "file", size: 1, mtimeMs: at(0) }, remote: { type: "file", size: 1, modifyMs: at(0), precision: "ms" }, state: null });
    const err = await refused(e, parseSavedPlan(JSON.stringify(edited), "plan.json"));
    expect(err.message).toContain("c.txt");
    expect(e.readRemote("c.txt")).toBe("C");
  });
});

describe("a plan file edited to act outside the job folder is refused before anything is read", () => {
  const outside = ["../outside.txt", "/etc/passwd", "sub/../../x", "a\\..\\b", ""];
  for (const path of outside) {
    it(`an action on ${JSON.stringify(path)}`, async () => {
      const e = await uploadWithChanges();
      const saved = await savePlan(e);
      const edited = JSON.parse(JSON.stringify(saved)) as SavedPlan;
      edited.actions.push({ kind: "download", path, reason: "x", remote: { path, type: "file", size: 1, precision: "ms" }, placedLocal: true });
      edited.basis.push({ path, local: null, remote: { type: "file", size: 1 }, state: null });
      expect(() => parseSavedPlan(JSON.stringify(edited), "plan.json")).toThrow(ConfigError);
      expect(() => parseSavedPlan(JSON.stringify(edited), "plan.json")).toThrow(/plan\.json: actions\.3: refusing a path outside the job folder/);
    });
  }

  it("a keep-both conflict whose name for the remote copy leaves the job folder", async () => {
    const e = await uploadWithChanges();
    const saved = JSON.parse(JSON.stringify(await savePlan(e))) as SavedPlan & { actions: Record<string, unknown>[] };
    saved.actions.push({ kind: "conflict", path: "c.txt", reason: "x", resolution: "keep-both", conflictName: "../../stolen.txt" });
    expect(() => parseSavedPlan(JSON.stringify(saved), "plan.json")).toThrow(/refusing a path outside the job folder: "\.\.\/\.\.\/stolen\.txt"/);
  });

  it("an action written twice (it would run two transfers of one path at once)", async () => {
    const e = await uploadWithChanges();
    const saved = JSON.parse(JSON.stringify(await savePlan(e))) as SavedPlan;
    saved.actions.push(saved.actions[0]);
    expect(() => parseSavedPlan(JSON.stringify(saved), "plan.json")).toThrow(/plan\.json: actions\.3: the action upload on "a\.txt" appears twice/);
  });

  it("actions reordered by hand are carried out in the order the job needs (a folder's contents deleted before the folder)", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10 } });
    e.writeLocal("keep.txt", "K");
    e.writeLocal("old/x.txt", "X");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2 });
    rmSync(join(e.local, "old"), { recursive: true });
    const saved = await savePlan(e);
    saved.actions.reverse();
    const s = await apply(e, saved);
    expect(s).toMatchObject({ status: "ok", deletedRemote: 2, failed: 0 });
    expect(steps(s.plan)).toEqual(["delete-remote old/x.txt", "delete-remote old"]);
    expect(e.remoteTree()).toEqual({ "keep.txt": "K" });
  });

  it("an action with no record of what it was based on, and a file that is not a plan", async () => {
    const e = await uploadWithChanges();
    const saved = JSON.parse(JSON.stringify(await savePlan(e))) as SavedPlan;
    saved.actions.push({ kind: "forget", path: "c.txt", reason: "x" });
    expect(() => parseSavedPlan(JSON.stringify(saved), "plan.json")).toThrow(/no record of what it was based on/);
    expect(() => parseSavedPlan("{}", "plan.json")).toThrow(/plan\.json: schema: not a plan file/);
    expect(() => parseSavedPlan("not json", "plan.json")).toThrow(/invalid JSON/);
  });
});
