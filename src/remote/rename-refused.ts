import { RemoteError } from "../errors.js";

/**
 * The server would not put the new version in place. Nothing was lost: the old file is still
 * under its name (or, if even putting it back failed, under the name given in the message) and
 * the new version is still in its temporary file, which the caller removes.
 * Thrown by every remote folder, FTPS (protocol/ops.ts) and in memory alike.
 */
export class RenameRefused extends RemoteError {
  constructor(to: string, reply: { code: number; message: string }, oldKeptAt?: string) {
    const kept = oldKeptAt ? `the old version could not be put back and is kept as ${oldKeptAt}` : "the old version is kept";
    super(`${to}: the server refused to put the new version in place (${reply.code} ${reply.message.trim()}); ${kept}, the new version was not placed`, {
      code: reply.code,
      kind: "path",
      phase: "operation",
    });
  }
}
