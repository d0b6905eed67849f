import { sameWithinPrecision } from "../plan/signatures.js";
import type { RemoteFileNow } from "./remote-folder.js";

/**
 * Whether the server's file is still the version a plan saw (both absent counts as the same).
 * Size and type must agree; times compared as listed, exactly when both came in the same
 * precision, else as far as the coarser one tells.
 */
export function sameRemoteVersion(planned: RemoteFileNow | undefined, now: RemoteFileNow | undefined): boolean {
  if (!planned || !now) return !planned && !now;
  if (planned.type !== now.type) return false;
  if (planned.type === "dir") return true;
  if (planned.size !== now.size) return false;
  // No time on one side (a server without times, or a trusted run's record of an upload whose
  // time was never learned): the size is all the evidence there is.
  if (planned.modifyMs === undefined || now.modifyMs === undefined) return true;
  if (planned.precision === now.precision) return planned.modifyMs === now.modifyMs;
  return sameWithinPrecision(planned.modifyMs, planned.precision, now.modifyMs, now.precision);
}
