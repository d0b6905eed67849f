import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { at, engine, filesOf } from "./harness.js";

const minutes = (n: number) => new Date(at(n));

describe("minAge and maxFileAge", () => {
  it("a download job leaves a file younger than minAge on the server until it is old enough", async () => {
    const e = engine({ job: { direction: "download", minAge: "2m" } });
    e.putRemote("old.txt", "old", at(0));
    e.putRemote("young.txt", "still being written", at(9.5));
    const due: number[] = [];
    expect(await e.run({ now: minutes(10), onHeldBack: (ms) => due.push(ms) })).toMatchObject({ status: "ok", downloaded: 1 });
    expect(filesOf(e.localTree())).toEqual({ "old.txt": "old" });
    // 30 s old at 10:10 (listed to the second: up to 29.001 s): due in 90.999 s, when the agent runs the job again.
    expect(due).toEqual([90_999]);

    expect(await e.run({ now: minutes(12) })).toMatchObject({ status: "ok", downloaded: 1 });
    expect(filesOf(e.localTree())).toEqual({ "old.txt": "old", "young.txt": "still being written" });
  });

  it("a run that found only files too young is not remembered as settled: the next run, nothing changed, takes them", async () => {
    const e = engine({ job: { direction: "download", minAge: "2m" } });
    e.putRemote("young.txt", "fresh", at(9.5));
    expect(await e.run({ now: minutes(10) })).toMatchObject({ status: "ok", downloaded: 0, plan: [] });
    expect(await e.run({ now: minutes(11) })).toMatchObject({ status: "ok", downloaded: 0 });
    expect(await e.run({ now: minutes(20) })).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.readLocal("young.txt")).toBe("fresh");
  });

  it("a listed time without seconds counts as the end of its minute for minAge", async () => {
    const e = engine({ job: { direction: "download", minAge: "1m" }, server: { precision: "minute" } });
    // Listed as 10:09 (the minute): written as late as 10:09:59, so at 10:10:30 it is 31 s old.
    e.putRemote("a.txt", "a", at(9) + 10_000);
    expect(await e.run({ now: new Date(at(10) + 30_000) })).toMatchObject({ downloaded: 0 });
    expect(await e.run({ now: minutes(11) })).toMatchObject({ downloaded: 1 });
  });

  it("an upload job sends nothing older than maxFileAge", async () => {
    const e = engine({ job: { direction: "upload", maxFileAge: "1d" } });
    e.writeLocal("recent.txt", "r", at(60));
    e.writeLocal("ancient.txt", "a", at(0));
    expect(await e.run({ now: new Date(at(60 * 25)) })).toMatchObject({ status: "ok", uploaded: 1 });
    expect(filesOf(e.remoteTree())).toEqual({ "recent.txt": "r" });
  });
});

describe("minSize and maxSize", () => {
  it("an upload job with delete=mirror neither sends nor deletes a file outside the sizes, nor the folder holding it", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10, minSize: 2, maxSize: "10B" } });
    e.writeLocal("ok.txt", "fine");
    e.writeLocal("big.bin", "x".repeat(20));
    e.writeLocal("t.txt", "1");
    e.putRemote("d/huge.bin", "y".repeat(20));
    e.putRemote("gone.txt", "delete me");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1, deletedRemote: 1 });
    expect(filesOf(e.remoteTree())).toEqual({ "ok.txt": "fine", "d/huge.bin": "y".repeat(20) });
  });

  it("a two-way job neither syncs nor deletes, on either side, a file a filter holds back", async () => {
    const e = engine({ job: { direction: "two-way", delete: "mirror" } });
    e.writeLocal("a.txt", "aaaaaaaaaaaa");
    e.writeLocal("b.txt", "bbbbbbbbbbbb");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2 });
    e.config.jobs.job.maxSize = 5;
    e.writeLocal("big-new.txt", "cccccccccccc");
    e.putRemote("big-remote.txt", "dddddddddddd");
    e.remote.remove("/job/a.txt");
    e.writeLocal("b.txt", "bbbbbbbbbbbb-edited", at(5));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0 });
    expect(s.plan).toEqual([]);
    expect(Object.keys(filesOf(e.localTree()))).toEqual(["a.txt", "b.txt", "big-new.txt"]);
    expect(Object.keys(filesOf(e.remoteTree()))).toEqual(["b.txt", "big-remote.txt"]);
  });
});

describe("excludeFrom", () => {
  it("reads patterns from a file beside the job file, one a line, with comments", async () => {
    const e = engine({ job: { direction: "upload" } });
    writeFileSync(join(e.dir, "jobs", "skip.txt"), "# temporary files\n*.tmp\n\ncache/**\n");
    const file = join(e.dir, "jobs", "job.json");
    const { loadConfig } = await import("../../src/config/load.js");
    const raw = JSON.parse((await import("node:fs")).readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ ...raw, excludeFrom: "skip.txt" }));
    const { config } = loadConfig(join(e.dir, "agent.config.json"), { env: { ENGINE_TEST_PASSWORD: "x" } });
    Object.assign(e.config.jobs.job, config.jobs.job);
    e.writeLocal("a.txt", "a");
    e.writeLocal("b.tmp", "b");
    e.writeLocal("cache/c.txt", "c");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "a" });
  });

  it("a missing excludeFrom file is a config error naming the file and the field", () => {
    expect(() => engine({ job: { direction: "upload", excludeFrom: "nowhere.txt" } })).toThrow(/jobs\/job\.json: field "excludeFrom": cannot read .*nowhere\.txt/);
  });

  it("filters with bad values are refused, naming the field", () => {
    expect(() => engine({ job: { direction: "upload", minSize: "ten" } })).toThrow(/field "minSize": not a size/);
    expect(() => engine({ job: { direction: "upload", minAge: "2" } })).toThrow(/field "minAge": not a duration/);
    expect(() => engine({ job: { direction: "upload", minSize: "2MB", maxSize: "1MB" } })).toThrow(/field "maxSize": must not be smaller than "minSize"/);
  });
});
