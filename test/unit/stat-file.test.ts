import { describe, expect, it } from "vitest";
import { sameRemoteVersion, type RemoteFileNow } from "../../src/remote/stat-file.js";

const file = (size: number, modifyMs: number | undefined, precision: RemoteFileNow["precision"]): RemoteFileNow => ({ type: "file", size, modifyMs, precision });
const T = Date.UTC(2026, 11, 5, 14, 31, 0);

describe("sameRemoteVersion: is the server's file still the version the plan saw?", () => {
  it("absent then and now is the same; appearing or vanishing is not", () => {
    expect(sameRemoteVersion(undefined, undefined)).toBe(true);
    expect(sameRemoteVersion(undefined, file(1, T, "second"))).toBe(false);
    expect(sameRemoteVersion(file(1, T, "second"), undefined)).toBe(false);
  });

  it("a different size or type is another version", () => {
    expect(sameRemoteVersion(file(1, T, "second"), file(2, T, "second"))).toBe(false);
    expect(sameRemoteVersion(file(0, T, "second"), { type: "dir", size: 0, modifyMs: T, precision: "second" })).toBe(false);
  });

  it("times in the same precision must be equal, even at day precision (no day of tolerance)", () => {
    expect(sameRemoteVersion(file(1, T, "second"), file(1, T, "second"))).toBe(true);
    expect(sameRemoteVersion(file(1, T, "second"), file(1, T + 1000, "second"))).toBe(false);
    expect(sameRemoteVersion(file(1, T, "day"), file(1, T + 86_400_000, "day"))).toBe(false);
  });

  it("times in different precisions agree as far as the coarser one tells", () => {
    expect(sameRemoteVersion(file(1, T + 41_000, "second"), file(1, T, "minute"))).toBe(true);
    expect(sameRemoteVersion(file(1, T + 61_000, "second"), file(1, T, "minute"))).toBe(false);
  });

  it("without a time on one side the size is the only evidence", () => {
    expect(sameRemoteVersion(file(5, undefined, "none"), file(5, T, "minute"))).toBe(true);
    expect(sameRemoteVersion(file(5, undefined, "pending"), file(6, T, "minute"))).toBe(false);
  });
});
