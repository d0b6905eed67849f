import { pipeline, Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import { RemoteError } from "../../src/errors.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { FtpsFolder } from "../../src/protocol/ftps-folder.js";
import { isNotThere } from "../../src/remote/remote-folder.js";

const remote = { name: "srv", maxConnections: 1 } as unknown as RemoteConfig;

/** A folder over fake connections whose client answers as `client` says; counts logins and closes. */
function folderWith(client: Record<string, unknown>) {
  const made: { closed: boolean }[] = [];
  const folder = new FtpsFolder(remote, undefined, async () => {
    const c = { closed: false, ...client };
    made.push(c);
    return { client: c, capabilities: { mlsd: true }, close: () => (c.closed = true) } as unknown as FtpsConnection;
  });
  return { folder, made };
}

const reply = (code: number, message: string) => new ReplyError({ code, message });
const rejected = (err: unknown) => async () => Promise.reject(err);

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail("expected a failure"),
    (err: unknown) => err,
  );
}

describe("FtpsFolder: the FTPS client's failures become RemoteErrors at the boundary", () => {
  it("turns a 550 reply into a RemoteError of kind path with code 550 and the server's text", async () => {
    const { folder } = folderWith({ size: rejected(reply(550, "550 Could not get file size.")) });
    const err = await failure(folder.size("/a/b.txt"));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ kind: "path", code: 550, message: "550 Could not get file size.", phase: "operation" });
    expect(isNotThere(err)).toBe(true);
  });

  it("turns a refused login (530) into kind auth and out of space (452) into kind space: both stop the job", async () => {
    const auth = await failure(folderWith({ send: rejected(reply(530, "530 Login incorrect.")) }).folder.remove("/x"));
    expect(auth).toMatchObject({ kind: "auth", code: 530, stopsJob: true });
    const space = await failure(folderWith({ send: rejected(reply(452, "452 Insufficient storage space")) }).folder.removeDir("/d"));
    expect(space).toMatchObject({ kind: "space", code: 452, message: "452 Insufficient storage space", stopsJob: true });
    expect(space).toBeInstanceOf(RemoteError);
  });

  it("turns a transient reply (450) into kind transient, worth another attempt", async () => {
    const err = await failure(folderWith({ send: rejected(reply(450, "450 busy")) }).folder.remove("/x"));
    expect(err).toMatchObject({ kind: "transient", code: 450, errorClass: "transient", stopsJob: false });
  });

  it("turns a connection reset into kind transient, keeping Node's error as the cause", async () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const err = await failure(folderWith({ size: rejected(reset) }).folder.size("/f"));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ kind: "transient", message: "read ECONNRESET", code: undefined });
    expect((err as RemoteError).cause).toBe(reset);
  });

  it("turns a certificate failure into kind tls", async () => {
    const cert = Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" });
    const err = await failure(folderWith({ size: rejected(cert) }).folder.size("/f"));
    expect(err).toMatchObject({ kind: "tls", stopsJob: true });
    expect((err as RemoteError).cause).toBe(cert);
  });

  it("passes a RemoteError and an error of no known kind through unchanged", async () => {
    const typed = new RemoteError("typed already", { kind: "path", code: 553, phase: "operation" });
    expect(await failure(folderWith({ size: rejected(typed) }).folder.size("/f"))).toBe(typed);
    const bug = new TypeError("not a function");
    expect(await failure(folderWith({ size: rejected(bug) }).folder.size("/f"))).toBe(bug);
  });

  it("rejects a download with the sink's own error unchanged, even one whose code looks like a network fault, and never reuses that connection", async () => {
    /** RETR as FtpClient.downloadThen does it: the data piped into the sink, the sink's failure rejecting the call. */
    const downloadThen = (sink: Writable) =>
      new Promise((resolve, reject) =>
        pipeline(Readable.from([Buffer.from("abc"), Buffer.from("def")]), sink, (err) => (err ? reject(err) : resolve({ final: { code: 226, message: "226 ok" }, after: [] }))),
      );
    const { folder, made } = folderWith({ downloadThen });
    const mine = Object.assign(new Error("the sink is full"), { code: "EPIPE" });
    const sink = new Writable({ write: (_chunk, _enc, done) => done(mine) });
    const err = await failure(folder.download("/f", sink));
    expect(err).toBe(mine);
    expect(made).toHaveLength(1);
    expect(made[0].closed).toBe(true);
    const chunks: Buffer[] = [];
    await folder.download("/f", new Writable({ write: (chunk, _enc, done) => (chunks.push(chunk), done()) }));
    expect(Buffer.concat(chunks).toString()).toBe("abcdef");
    expect(made).toHaveLength(2); // a fresh connection, not the failed one
  });

  it("maps the lister's hints: STAT reply estimates only for a server without MLSD", async () => {
    const { folder } = folderWith({});
    await folder.open();
    expect(folder.listingHints([["a/b", { type: "file" }]])).toBeUndefined();
    const noMlsd = new FtpsFolder(remote, undefined, async () => ({ client: { closed: false }, capabilities: { mlsd: false }, close() {} }) as unknown as FtpsConnection);
    await noMlsd.open();
    expect(noMlsd.listingHints([["a/b", { type: "file" }]])).toBeInstanceOf(Map);
  });
});
