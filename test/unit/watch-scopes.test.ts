import { describe, expect, it } from "vitest";
import { MAX_SCOPED_FOLDERS, WatchScopes } from "../../src/agent/watch-scopes.js";

describe("the folders a watch-triggered run looks at", () => {
  it("are the folders the events named since the last run, a new folder marked deep once any event said so", () => {
    const scopes = new WatchScopes();
    scopes.add("job", [{ folder: "a", deep: false }, { folder: "a/new", deep: true }]);
    scopes.add("job", [{ folder: "a/new", deep: false }, { folder: "b", deep: false }]);
    expect(scopes.take("job", ["watch"])).toEqual({ folders: ["a", "b"], deep: ["a/new"] });
    expect(scopes.take("job", ["watch"])).toBeUndefined(); // taken: the next run without events is a full one
  });

  it("give way to a full run when another trigger is folded in, or when there are too many", () => {
    const scopes = new WatchScopes();
    scopes.add("job", [{ folder: "a", deep: false }]);
    expect(scopes.take("job", ["watch", "schedule"])).toBeUndefined();
    expect(scopes.take("job", ["watch"])).toBeUndefined(); // the full run took them too
    scopes.add("job", Array.from({ length: MAX_SCOPED_FOLDERS + 1 }, (_, i) => ({ folder: `d${i}`, deep: false })));
    expect(scopes.take("job", ["watch"])).toBeUndefined();
    scopes.add("other", [{ folder: "x", deep: false }]);
    expect(scopes.take("job", ["watch"])).toBeUndefined(); // per job
    expect(scopes.take("other", ["watch"])).toEqual({ folders: ["x"], deep: [] });
  });
});
