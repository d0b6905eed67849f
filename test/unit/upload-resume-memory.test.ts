import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openState, type StateStore } from "../../src/state/index.js";
import { UPLOAD_RESUME_REFUSAL_MEMORY_MS } from "../../src/state/capabilities.js";
import { testTempDir } from "../helpers/temp-dir.js";

describe("a remembered refusal to resume uploads", () => {
  let state: StateStore;
  const probe = (host = "ftp.example", port = 21) => ({ remote: "srv", host, port, features: { SIZE: "" }, probedAt: 1 });
  beforeEach(() => {
    state = openState(testTempDir("resume-memory"));
    state.capabilities.save(probe());
  });
  afterEach(() => state.close());

  it("is not set for a server never seen refusing", () => {
    expect(state.capabilities.uploadResumeRefused("srv")).toBe(false);
    expect(state.capabilities.uploadResumeRefused("other")).toBe(false);
  });

  it("survives the capabilities being probed again at the next connection", () => {
    state.capabilities.rememberUploadResumeRefused("srv");
    state.capabilities.save(probe());
    expect(state.capabilities.uploadResumeRefused("srv")).toBe(true);
    expect(state.capabilities.get("srv")?.features).toEqual({ SIZE: "" });
  });

  it.each([
    ["another host", probe("ftp2.example")],
    ["another port", probe("ftp.example", 2121)],
  ])("is forgotten when the remote points at %s", (_name, changed) => {
    state.capabilities.rememberUploadResumeRefused("srv");
    state.capabilities.save(changed);
    expect(state.capabilities.uploadResumeRefused("srv")).toBe(false);
  });

  it("is tried again after a month (a server's setting may change)", () => {
    const at = 1_000_000;
    state.capabilities.rememberUploadResumeRefused("srv", at);
    expect(state.capabilities.uploadResumeRefused("srv", at + UPLOAD_RESUME_REFUSAL_MEMORY_MS - 1)).toBe(true);
    expect(state.capabilities.uploadResumeRefused("srv", at + UPLOAD_RESUME_REFUSAL_MEMORY_MS)).toBe(false);
  });
});
