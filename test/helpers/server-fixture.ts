import { afterAll, beforeAll } from "vitest";
import { ensureTestUser, startServer, type RunningServer, type ServerKind, type StartOptions } from "../servers/real-servers.js";
import { makeServerFolder } from "./trees.js";
import { makeWorkspace, type Workspace } from "./workspace.js";

/** One real server per describe block, with a workspace whose remote `srv` points at it. */
export interface ServerFixture {
  server: RunningServer;
  ws: Workspace;
  /** The FTP user's ids: the owner of files put straight into the server's folder. */
  owner: { uid: number; gid: number };
}

/**
 * Starts `kind` (explicit TLS unless `opts.server` says otherwise) before the block's tests, with a
 * workspace pinned to its certificate and `remote`'s options, and stops both after them. `set`
 * hands the three to the test file's own variables.
 */
export function useServer(kind: ServerKind, remote: Record<string, unknown>, set: (f: ServerFixture) => void, opts: { server?: StartOptions } = {}): void {
  let fixture: ServerFixture | undefined;
  beforeAll(async () => {
    const owner = await ensureTestUser();
    const server = await startServer(kind, { tls: "explicit", ...opts.server });
    fixture = { server, owner, ws: makeWorkspace(server, { fingerprint: server.fingerprint, ...remote }) };
    set(fixture);
  });
  afterAll(async () => {
    fixture?.ws.cleanup();
    await fixture?.server.stop();
  });
}

/**
 * A maker of jobs that see nothing of each other: each call writes job `<prefix><n>` on an empty
 * server folder of the same name and a fresh local folder `local<n>`, with `defaults` and `job`.
 */
export function freshJobs(get: () => ServerFixture, prefix: string, defaults: Record<string, unknown> = {}) {
  let n = 0;
  return (job: Record<string, unknown> = {}): { name: string; local: string; remoteDir: string } => {
    const { server, ws, owner } = get();
    n++;
    const name = `${prefix}${n}`;
    const remoteDir = makeServerFolder(server.root, name, owner);
    const local = ws.folder(`local${n}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, ...defaults, ...job });
    return { name, local, remoteDir };
  };
}
