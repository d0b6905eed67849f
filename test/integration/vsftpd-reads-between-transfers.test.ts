import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtps, type FtpsConnection } from "../../src/protocol/connect.js";
import { openDataSocket, parseEpsvReply, type DataTls } from "../../src/protocol/engine/data.js";
import type { Reply } from "../../src/protocol/engine/reply-parser.js";
import { Secret } from "../../src/secret.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { writeTree } from "../helpers/trees.js";

requireServers("vsftpd");

/**
 * What the technique "writeDuringTransfer" (control.ts) rests on: vsftpd reads its control
 * connection only between transfers, so commands written while a transfer runs (an upload's bytes,
 * a download held back mid-file, a listing waiting for the client's TLS close) are read and
 * answered only after that transfer's final reply, in order. Checked here on the wire, below the
 * engine's own queueing: the transfers are driven by hand and the next one's EPSV and transfer
 * command are written while the first runs (no reply is given a transfer flag, so the control
 * connection writes them at once).
 */
const BIG = Buffer.alloc(8 * 1024 * 1024, 7);
const cases = [
  { tls: "explicit", version: "1.2" },
  { tls: "explicit", version: "1.3" },
  { tls: "implicit", version: "1.2" },
  { tls: "implicit", version: "1.3" },
] as const;

describe.each(cases)("vsftpd with $tls TLS $version", ({ tls, version }) => {
  let server: RunningServer;
  let c: FtpsConnection;
  let lines: string[];
  beforeAll(async () => {
    const owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls });
    writeTree(server.root, { "big.bin": BIG, "small.txt": "small file", "dir/x.txt": "x", "dir/y.txt": "y" }, owner);
    c = await connectFtps({
      name: "vsftpd",
      host: "127.0.0.1",
      port: server.port,
      tls,
      user: server.user,
      password: new Secret(server.password),
      ca: server.certPem,
      maxConnections: 1,
      timeoutMs: 10_000,
      maxTlsVersion: version,
    } as never);
    expect(c.tls.protocol).toBe(`TLSv${version}`);
    lines = [];
    c.client.control.log = (line) => void lines.push(line);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
  });

  const dataTls = () => (c.client as unknown as { dataTls: DataTls }).dataTls;

  /** EPSV and `command` in one write, its data connection opened once EPSV's reply names the port. */
  async function begin(command: string): Promise<{ socket: TLSSocket; final: Promise<Reply>; preliminary: Promise<Reply> }> {
    let onPreliminary!: (r: Reply) => void;
    const preliminary = new Promise<Reply>((resolve) => (onPreliminary = resolve));
    const [epsv, final] = c.client.control.send(["EPSV", command], [{}, { onPreliminary }]);
    const port = parseEpsvReply((await epsv).message);
    expect(port).toBeDefined();
    const socket = openDataSocket(c.client.control, "127.0.0.1", port!, dataTls());
    await once(socket, "secureConnect");
    return { socket, final, preliminary };
  }

  async function readAll(socket: TLSSocket): Promise<Buffer> {
    const chunks: Buffer[] = [];
    socket.on("data", (b: Buffer) => chunks.push(b));
    socket.resume();
    await once(socket, "end");
    socket.end();
    return Buffer.concat(chunks);
  }

  /** Writes the next transfer while the current one runs; the lines the server sent meanwhile. */
  async function writeNextDuring(command: string): Promise<{ next: ReturnType<typeof begin>; heardMeanwhile: string[] }> {
    const mark = lines.length;
    const next = begin(command);
    next.catch(() => undefined);
    // A server that reads commands during a transfer answers EPSV within this time.
    await sleep(400);
    return { next, heardMeanwhile: lines.slice(mark).filter((l) => l.startsWith("<")) };
  }

  it("answers the EPSV and STOR written during an upload only after the upload's 226, and both files arrive whole", async () => {
    const a = await begin("STOR a.bin");
    await a.preliminary;
    a.socket.write(BIG.subarray(0, 1024 * 1024));
    await sleep(100);
    const { next, heardMeanwhile } = await writeNextDuring("STOR b.txt");
    expect(heardMeanwhile).toEqual([]);
    a.socket.end(BIG.subarray(1024 * 1024));
    expect((await a.final).code).toBe(226);
    const b = await next;
    b.socket.end("second file");
    expect((await b.final).code).toBe(226);
    expect(readFileSync(join(server.root, "a.bin")).equals(BIG)).toBe(true);
    expect(readFileSync(join(server.root, "b.txt"), "utf8")).toBe("second file");
  });

  it("answers the EPSV and RETR written during a download held mid-file only after the download's 226, in order", async () => {
    const a = await begin("RETR big.bin");
    a.socket.pause();
    await a.preliminary;
    const { next, heardMeanwhile } = await writeNextDuring("RETR small.txt");
    expect(heardMeanwhile).toEqual([]);
    expect((await readAll(a.socket)).equals(BIG)).toBe(true);
    expect((await a.final).code).toBe(226);
    const b = await next;
    expect((await readAll(b.socket)).toString()).toBe("small file");
    expect((await b.final).code).toBe(226);
  });

  it("answers the commands written while a listing waits for the client's TLS close only after the listing's 226", async () => {
    const a = await begin("LIST -a /dir");
    await a.preliminary;
    // The listing is sent whole by now; vsftpd waits for the client's close before its 226.
    await sleep(100);
    const { next, heardMeanwhile } = await writeNextDuring("LIST -a /dir");
    expect(heardMeanwhile).toEqual([]);
    const first = (await readAll(a.socket)).toString();
    expect(first).toMatch(/x\.txt/);
    expect((await a.final).code).toBe(226);
    const b = await next;
    expect((await readAll(b.socket)).toString()).toBe(first);
    expect((await b.final).code).toBe(226);
  });
});
