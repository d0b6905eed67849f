import type { JobConfig } from "../../src/config/types.js";

/** A job's config as the loader gives it (an upload of /tmp/x to /x on "srv", with the defaults), with `extra` on top. */
export function jobConfig(name: string, extra: Partial<JobConfig> = {}): JobConfig {
  return {
    name, file: `/jobs/${name}.json`, remote: "srv", remotePath: "/x", local: "/tmp/x", direction: "upload", watch: false,
    watchDebounceMs: 1000, delete: "never", onConflict: "keep-both", include: [], exclude: [], maxDelete: { kind: "percent", value: 50 },
    verify: "size", followSymlinks: false, followRootSymlink: false, trustRemote: false, retries: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 }, ...extra,
  };
}
