// Data connections (src/protocol/engine/data.ts) and FtpClient's transfers
// (src/protocol/engine/client.ts) against a scripted TLS server on loopback, data connections in
// TLS (test/unit/scripted-control.ts).
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { classify } from "../../src/protocol/classify.js";
import { FtpClient, isAnsweredDuringTransfer } from "../../src/protocol/engine/client.js";
import type { ControlConnection } from "../../src/protocol/engine/control.js";
import { describeIgnoredPasvAddress, parseEpsvReply, parsePasvReply, pasvTarget, sendFileRange } from "../../src/protocol/engine/data.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { connected, failure, scriptedCertificate, scriptedServer, verbOf, type Script, type ScriptedServer, type ScriptSession } from "./scripted-control.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until a data connection's bytes have all come (the client ended it). */
const untilEnd = (d: NodeJS.ReadableStream) => new Promise((r) => d.once("end", r));

/**
 * From now on the session's replies are kept in `held`, not sent (as a server that answers late,
 * several in one write), until restore() gives the session its own reply function back.
 */
function holdReplies(s: ScriptSession): { held: string[]; restore: () => void } {
  const reply = s.reply;
  const held: string[] = [];
  s.reply = (text) => void held.push(text);
  return { held, restore: () => void (s.reply = reply) };
}

/** What `client` tells the server's profile it learnt: technique and reason, in order. */
function learntBy(client: FtpClient): [string, string][] {
  const learnt: [string, string][] = [];
  client.onLearnt = (technique, reason) => void learnt.push([technique, reason]);
  return learnt;
}

/** A server out of quota: it cuts STOR's data connection once the first bytes came, then says why (552). */
const quotaExceeded: Script = (line, s) => {
  const verb = verbOf(line);
  if (verb === "EPSV") return s.epsv();
  if (verb === "STOR") {
    return s.data.transfer(async (d) => {
      await new Promise((r) => d.once("data", r));
      d.on("error", () => undefined);
      d.destroy();
      await new Promise((r) => setTimeout(r, 5));
    }, 10_000, "552 Quota exceeded");
  }
  s.reply("200 still here");
};

describe("reading EPSV and PASV replies", () => {
  it.each([
    ["229 Entering Extended Passive Mode (|||6446|)", 6446],
    ["229 Entering Extended Passive Mode (!!!6446!)", 6446],
    ["229 EPSV ok (###1#) and more text", 1],
    ["229 (|||65535|)", 65535],
  ])("takes the port of %s", (reply, port) => {
    expect(parseEpsvReply(reply)).toBe(port);
  });

  it.each([
    ["delimiters that differ", "229 Entering Extended Passive Mode (|||6446!)"],
    ["port 0", "229 Entering Extended Passive Mode (|||0|)"],
    ["a port over 65535", "229 Entering Extended Passive Mode (|||65536|)"],
    ["a port of many digits", "229 Entering Extended Passive Mode (|||99999999999999999999|)"],
    ["no port", "229 Entering Extended Passive Mode (||||)"],
    ["a network address in the reply", "229 Entering Extended Passive Mode (|1|127.0.0.1|6446|)"],
    ["no parentheses", "229 Entering Extended Passive Mode |||6446|"],
  ])("takes no port from an EPSV reply with %s", (_what, reply) => {
    expect(parseEpsvReply(reply)).toBeUndefined();
  });

  it.each([
    ["227 Entering Passive Mode (127,0,0,1,4,1)", { host: "127.0.0.1", port: 1025 }],
    ["227 Entering Passive Mode (192,0,2,10,255,255).", { host: "192.0.2.10", port: 65535 }],
    ["227 =192,0,2,10,0,21", { host: "192.0.2.10", port: 21 }],
  ])("takes host and port of %s", (reply, target) => {
    expect(parsePasvReply(reply)).toEqual(target);
  });

  it.each([
    ["a host number over 255", "227 Entering Passive Mode (127,0,256,1,4,1)"],
    ["a port number over 255", "227 Entering Passive Mode (127,0,0,1,256,1)"],
    ["a host number of four digits", "227 Entering Passive Mode (1127,0,0,1,4,1)"],
    ["a port number of four digits", "227 Entering Passive Mode (127,0,0,1,4,1000)"],
    ["port 0", "227 Entering Passive Mode (127,0,0,1,0,0)"],
    ["five numbers", "227 Entering Passive Mode (127,0,0,1,4)"],
    ["no numbers", "227 no address here"],
  ])("takes nothing from a PASV reply with %s", (_what, reply) => {
    expect(parsePasvReply(reply)).toBeUndefined();
  });
});

describe("where a PASV reply may send the data connection", () => {
  const control = (remoteAddress: string | undefined) => ({ remoteAddress }) as ControlConnection;

  it("accepts the control connection's host", () => {
    expect(pasvTarget(control("192.0.2.10"), { host: "192.0.2.10", port: 2000 })).toEqual({ host: "192.0.2.10", port: 2000 });
    expect(pasvTarget(control("::ffff:192.0.2.10"), { host: "192.0.2.10", port: 2000 })).toEqual({ host: "192.0.2.10", port: 2000 });
  });

  it.each([
    ["10.0.0.1", "private"],
    ["172.20.3.4", "private"],
    ["192.168.1.5", "private"],
    ["169.254.10.1", "unroutable"],
    ["100.64.0.9", "unroutable"],
    ["0.0.0.0", "unroutable"],
    ["127.0.0.1", "loopback"],
    ["192.0.2.99", "public"],
    ["203.0.113.50", "public"],
  ] as const)("takes the port of a reply naming %s (%s), never its address: the data connection goes to the control host", (host, kind) => {
    const target = pasvTarget(control("198.51.100.10"), { host, port: 2000 });
    expect(target).toEqual({ host: "198.51.100.10", port: 2000, ignored: { named: host, kind } });
    expect(describeIgnoredPasvAddress(target)).toContain(`PASV replies name ${host}, `);
    expect(describeIgnoredPasvAddress(target)).toContain("go to the control connection's host (198.51.100.10) instead, never to another host");
  });

  it("says nothing of a reply that names the control host itself", () => {
    expect(describeIgnoredPasvAddress(pasvTarget(control("198.51.100.10"), { host: "198.51.100.10", port: 2000 }))).toBeUndefined();
  });

  it("takes any loopback address for a loopback control host, and connects to the control host", () => {
    expect(pasvTarget(control("127.0.0.1"), { host: "127.0.1.1", port: 2000 })).toEqual({ host: "127.0.0.1", port: 2000 });
    expect(pasvTarget(control("::ffff:127.0.0.1"), { host: "127.0.0.1", port: 2000 })).toEqual({ host: "127.0.0.1", port: 2000 });
    expect(pasvTarget(control("::1"), { host: "127.0.0.1", port: 2000 })).toEqual({ host: "::1", port: 2000 });
  });

  it("refuses when the control connection is gone", () => {
    expect(() => pasvTarget(control(undefined), { host: "127.0.0.1", port: 2000 })).toThrow(/closed/);
  });
});

describe("FtpClient transfers", () => {
  const { cert, clientTls } = scriptedCertificate();

  async function clientOf(script: Script, maxListingBytes = 1024 * 1024): Promise<{ client: FtpClient; server: ScriptedServer }> {
    const server = await scriptedServer(cert(), script);
    const control = await connected(server, clientTls(), 5_000);
    return { client: new FtpClient(control, { options: clientTls() }, maxListingBytes), server };
  }

  /** An open descriptor of a new file holding `content` (closed by the test). */
  function fileWith(content: Buffer): number {
    const path = join(testTempDir("engine-data"), "source.bin");
    writeFileSync(path, content);
    return openSync(path, "r");
  }

  /** A sink that keeps what it is given. */
  function collector() {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, next) => (chunks.push(chunk), next()) });
    return { sink, bytes: () => Buffer.concat(chunks) };
  }

  it("uploads every byte: what arrives on the server is what was sent", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    let stored: Buffer | undefined;
    const { client, server } = await clientOf((line, s) => {
      if (verbOf(line) === "EPSV") return s.epsv();
      if (verbOf(line) === "STOR") return s.data.receive((bytes) => (stored = bytes));
      s.reply("502 not here");
    });
    expect(await client.upload(Readable.from([content]), "/job/up.bin")).toEqual({ code: 226, message: "226 Transfer complete" });
    expect(stored?.equals(content)).toBe(true);
    expect(server.sessions[0].commands).toEqual(["EPSV", "STOR /job/up.bin"]);
    expect(client.closed).toBe(false);
    client.close();
  });

  it("uploads a range of an open file: the bytes from its start to its end arrive, no more, and the descriptor stays open", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const fd = fileWith(content);
    const stored: Buffer[] = [];
    const { client, server } = await clientOf((line, s) => {
      if (verbOf(line) === "EPSV") return s.epsv();
      if (verbOf(line) === "STOR" || verbOf(line) === "APPE") return s.data.receive((bytes) => stored.push(bytes));
      s.reply("502 not here");
    });
    try {
      expect((await client.upload({ fd, start: 0, end: content.length }, "/job/whole.bin")).code).toBe(226);
      expect((await client.upload({ fd, start: 1024 * 1024 + 5, end: content.length - 3 }, "/job/part.bin", true)).code).toBe(226);
      expect((await client.upload({ fd, start: 2 * 1024 * 1024 }, "/job/tail.bin", true)).code).toBe(226);
      expect(stored.map((b) => b.length)).toEqual([content.length, content.length - 3 - (1024 * 1024 + 5), content.length - 2 * 1024 * 1024]);
      expect(stored[0].equals(content)).toBe(true);
      expect(stored[1].equals(content.subarray(1024 * 1024 + 5, content.length - 3))).toBe(true);
      expect(stored[2].equals(content.subarray(2 * 1024 * 1024))).toBe(true);
      expect(server.sessions[0].commands).toEqual(["EPSV", "STOR /job/whole.bin", "EPSV", "APPE /job/part.bin", "EPSV", "APPE /job/tail.bin"]);
      expect(fstatSync(fd).size).toBe(content.length); // still open: a retry reads it again
    } finally {
      closeSync(fd);
      client.close();
    }
  });

  it("an upload of a file range that the file no longer reaches ends at the file's end (the caller's size check sees the difference)", async () => {
    const content = randomBytes(1024 * 1024 + 100);
    const fd = fileWith(content);
    let stored: Buffer | undefined;
    const { client } = await clientOf((line, s) => {
      if (verbOf(line) === "EPSV") return s.epsv();
      if (verbOf(line) === "STOR") return s.data.receive((bytes) => (stored = bytes));
      s.reply("502 not here");
    });
    try {
      expect((await client.upload({ fd, start: 0, end: 3 * 1024 * 1024 }, "/job/shrunk.bin")).code).toBe(226);
      expect(stored?.equals(content)).toBe(true);
    } finally {
      closeSync(fd);
      client.close();
    }
  });

  it("an upload of a file range whose data connection the server resets, saying why just after (552), fails with that reply", async () => {
    const fd = fileWith(randomBytes(4 * 1024 * 1024));
    const { client } = await clientOf(quotaExceeded);
    try {
      const err = await failure(client.upload({ fd, start: 0 }, "/job/full.bin"));
      expect(err).toBeInstanceOf(ReplyError);
      expect(err).toMatchObject({ code: 552 });
    } finally {
      closeSync(fd);
      client.close();
    }
  });

  it("uploads bytes given in memory (a small file's): every byte arrives, the connection stays in step for the next upload", async () => {
    const stored: Buffer[] = [];
    const { client, server } = await clientOf((line, s) => {
      if (verbOf(line) === "EPSV") return s.epsv();
      if (verbOf(line) === "STOR") return s.data.receive((bytes) => stored.push(bytes));
      if (verbOf(line) === "SIZE") return s.reply("213 4096");
      s.reply("502 not here");
    });
    const contents = [randomBytes(4096), randomBytes(4096)];
    const done = await client.uploadThen(contents[0], "/job/a.bin", false, ["SIZE /job/a.bin"]);
    expect(done.final).toEqual({ code: 226, message: "226 Transfer complete" });
    expect(await done.after[0]).toEqual({ code: 213, message: "213 4096" });
    expect((await client.upload(contents[1], "/job/b.bin")).code).toBe(226);
    expect(stored.map((b) => b.toString("hex"))).toEqual(contents.map((b) => b.toString("hex")));
    expect(server.sessions[0].commands).toEqual(["EPSV", "STOR /job/a.bin", "SIZE /job/a.bin", "EPSV", "STOR /job/b.bin"]);
    expect(client.closed).toBe(false);
    client.close();
  });

  it("downloads every byte, from the start and from an offset (REST)", async () => {
    const content = randomBytes(2 * 1024 * 1024 + 5);
    let offset = 0;
    const { client, server } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "REST") {
        offset = Number(line.slice(5));
        return s.reply(`350 Restarting at ${offset}`);
      }
      if (verb === "RETR") return s.data.send(content.subarray(offset)).then(() => void (offset = 0));
      s.reply("502 not here");
    });
    const whole = collector();
    expect((await client.download(whole.sink, "/job/a.bin")).code).toBe(226);
    expect(whole.bytes().equals(content)).toBe(true);
    const rest = collector();
    expect((await client.download(rest.sink, "/job/a.bin", 1000)).code).toBe(226);
    expect(rest.bytes().equals(content.subarray(1000))).toBe(true);
    expect(server.sessions[0].commands).toEqual(["EPSV", "RETR /job/a.bin", "EPSV", "REST 1000", "RETR /job/a.bin"]);
    client.close();
  });

  it("MLST's multi-line 250, sent behind RETR and answered while the transfer runs (pyftpdlib), is not taken for the transfer's completion", async () => {
    const { client } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "RETR") {
        const { restore } = holdReplies(s);
        return s.data.transfer(async (d) => {
          restore();
          // The MLST reply first, then the bytes and the 226.
          s.reply(['250-Listing "/job/a.bin":', " type=file;size=3; /job/a.bin", "250 End MLST."].join("\r\n"));
          await sleep(50);
          d.write(Buffer.from("abc"));
          await new Promise<void>((r) => d.end(() => r()));
          s.reply("226 Transfer complete");
        });
      }
      s.reply("200 ok");
    });
    const got = collector();
    const err = await failure(client.downloadThen(got.sink, "/job/a.bin", 0, ["MLST /job/a.bin"]));
    expect(isAnsweredDuringTransfer(err)).toBe(true);
    expect(client.closed).toBe(true);
  });

  it("a refused REST fails the download with its reply and closes the connection; no byte reaches the sink", async () => {
    const { client } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "REST") return; // answered with RETR's 150, below
      if (verb === "RETR") {
        // As a server that ignores the refused REST: the file from byte 0, its first bytes already
        // on the data connection when the refusal and the 150 arrive together.
        const { held, restore } = holdReplies(s);
        return s.data.transfer(async (d) => {
          d.write(randomBytes(64 * 1024));
          await sleep(150);
          restore();
          s.reply(["502 REST not implemented", ...held].join("\r\n"));
          await new Promise<void>((r) => {
            d.end(() => r());
            d.once("close", () => r());
          });
        });
      }
      s.reply("200 ok");
    });
    const got = collector();
    const err = await failure(client.download(got.sink, "/job/a.bin", 100));
    expect(err).toBeInstanceOf(ReplyError);
    expect(err).toMatchObject({ code: 502 });
    expect(client.closed).toBe(true);
    expect(got.bytes().length).toBe(0);
  });

  it("a download whose sink fails (a full disk) fails with the sink's error, and the data connection is dropped mid-file", async () => {
    let dataClosed!: Promise<void>;
    const { client } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "RETR") {
        return s.data.transfer(async (d) => {
          dataClosed = new Promise((r) => d.once("close", () => r()));
          d.on("error", () => undefined);
          // More than the sink takes: the client must cut the connection, not wait for its end.
          for (let i = 0; i < 64 && !d.destroyed; i++) {
            d.write(randomBytes(64 * 1024));
            await new Promise((r) => setTimeout(r, 2));
          }
        }, 10_000, "226 Transfer complete");
      }
      s.reply("200 still here");
    });
    const full = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    let taken = 0;
    const sink = new Writable({ write: (chunk: Buffer, _e, next) => ((taken += chunk.length) > 100_000 ? next(full) : next()) });
    const err = await failure(client.download(sink, "/job/a.bin"));
    expect(err).toBe(full);
    expect(sink.destroyed).toBe(true);
    await dataClosed; // the client dropped the data connection well before the server's 4 MiB were sent
    expect(taken).toBeLessThan(4 * 1024 * 1024);
    client.close();
  });

  it("a download whose data connection the server resets mid-file fails, and its sink is destroyed with that error, not ended as if the file were whole", async () => {
    const { client } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "RETR") {
        return s.data.transfer(async (d) => {
          d.on("error", () => undefined);
          d.write(randomBytes(10_000));
          await new Promise((r) => setTimeout(r, 20));
          d.resetAndDestroy();
        }, 10_000, "426 Connection closed; transfer aborted");
      }
      s.reply("200 still here");
    });
    let finished = false;
    const got = collector();
    got.sink.on("finish", () => (finished = true));
    got.sink.on("error", () => undefined);
    const err = await failure(client.download(got.sink, "/job/a.bin"));
    expect(err).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 50)); // the data connection's close reaches the sink
    expect(finished).toBe(false);
    expect(got.sink.destroyed).toBe(true);
    client.close();
  });

  it("an upload whose data connection the server resets, saying why just after (552), fails with that reply, not a retryable reset", async () => {
    const { client } = await clientOf(quotaExceeded);
    const err = await failure(client.upload(Readable.from([randomBytes(4 * 1024 * 1024)]), "/job/full.bin"));
    expect(err).toBeInstanceOf(ReplyError);
    expect(err).toMatchObject({ code: 552 });
    expect(classify(err)).toMatchObject({ kind: "space", stopsJob: true });
    client.close();
  });

  it("an upload of bytes in memory whose data connection the server resets, saying why just after (552), fails with that reply", async () => {
    const { client } = await clientOf(quotaExceeded);
    const err = await failure(client.upload(randomBytes(4 * 1024 * 1024), "/job/full.bin"));
    expect(err).toBeInstanceOf(ReplyError);
    expect(err).toMatchObject({ code: 552 });
    client.close();
  });

  it("answers to commands sent behind a transfer come after its completion; a server that answers one before it is out of step: `protocol`, closed", async () => {
    let early = false;
    const { client } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "STOR" && !early) return s.data.receive(() => undefined);
      if (verb === "STOR") {
        // A server that reads the next command while it transfers, and answers it first.
        return s.data.transfer(async (d) => {
          s.reply("213 5");
          await untilEnd(d);
        });
      }
      if (verb === "SIZE") return early ? undefined : s.reply("213 5");
      s.reply("502 not here");
    });
    const done = await client.uploadThen(Readable.from([Buffer.from("hello")]), "/job/a.txt", false, ["SIZE /job/a.txt"]);
    expect(done.final).toEqual({ code: 226, message: "226 Transfer complete" });
    expect(await Promise.all(done.after)).toEqual([{ code: 213, message: "213 5" }]);
    early = true;
    const err = await failure(client.uploadThen(Readable.from([Buffer.from("hello")]), "/job/b.txt", false, ["SIZE /job/b.txt"]));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ fault: "protocol" });
    expect((err as Error).message).toMatch(/not a transfer's completion/);
    expect(client.closed).toBe(true);
  });

  it("writes nothing on the connection while a transfer runs: a command asked meanwhile goes out after its final reply", async () => {
    let seenDuringTransfer: string[] | undefined;
    const { client, server } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "STOR") {
        return s.data.transfer(async (d) => {
          await new Promise((r) => setTimeout(r, 100)); // the NOOP below is asked in this time
          seenDuringTransfer = s.chunks.join("").split("\r\n").filter(Boolean); // what arrived, handled or not
          d.resume();
          await untilEnd(d);
        });
      }
      s.reply("200 ok");
    });
    const upload = client.upload(Readable.from([Buffer.from("hello")]), "/job/a.txt");
    await new Promise((r) => setTimeout(r, 30));
    const noop = client.send("NOOP");
    expect(await upload).toEqual({ code: 226, message: "226 Transfer complete" });
    expect(await noop).toEqual({ code: 200, message: "200 ok" });
    expect(seenDuringTransfer).toEqual(["EPSV", "STOR /job/a.txt"]);
    expect(server.sessions[0].commands).toEqual(["EPSV", "STOR /job/a.txt", "NOOP"]);
    client.close();
  });

  it("at a transfer's end, what waited goes out in one write: the commands that open no transfer (the rename of the file just sent) ahead of the next transfer", async () => {
    const { client, server } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "STOR") {
        return s.data.transfer(async (d) => {
          d.resume();
          await untilEnd(d);
        });
      }
      s.reply(verb === "RNFR" ? "350 ready" : "250 ok");
    });
    const writes: string[][] = [];
    client.control.onWrite = (commands) => void writes.push([...commands]);
    // Caller one sends a.part and renames it once done; caller two's b.part waits meanwhile.
    const first = client.upload(Readable.from([Buffer.from("aaa")]), "/a.part").then(() => client.sendAll(["RNFR /a.part", "RNTO /a"]));
    await new Promise((r) => setImmediate(r));
    const second = client.upload(Readable.from([Buffer.from("bbb")]), "/b.part");
    const [renamed] = await Promise.all([first, second]);
    expect(renamed.map((r) => r.code)).toEqual([350, 250]);
    expect(writes).toEqual([["EPSV", "STOR /a.part"], ["RNFR /a.part", "RNTO /a", "EPSV", "STOR /b.part"]]);
    expect(server.sessions[0].commands).toEqual(["EPSV", "STOR /a.part", "RNFR /a.part", "RNTO /a", "EPSV", "STOR /b.part"]);
    client.close();
  });

  it("a 550 before any 150 fails the transfer with a ReplyError, and the connection goes on", async () => {
    const { client } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.epsv();
      if (verb === "RETR") return s.reply("550 No such file");
      s.reply("200 still here");
    });
    const err = await failure(client.download(collector().sink, "/job/missing.bin"));
    expect(err).toBeInstanceOf(ReplyError);
    expect(err).toMatchObject({ code: 550, message: "550 No such file" });
    expect(client.closed).toBe(false);
    expect(await client.send("NOOP")).toEqual({ code: 200, message: "200 still here" });
    client.close();
  });

  it("after a refused EPSV (500), uses PASV from then on", async () => {
    const { client, server } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.reply("500 EPSV not understood");
      if (verb === "PASV") return s.pasv();
      if (verb === "LIST") return s.data.send(`listing of ${line.slice(8)}\r\n`); // 425 without PASV first
      s.reply("502 not here");
    });
    const learnt = learntBy(client);
    expect(await client.list("/a", "LIST -a")).toBe("listing of /a\r\n");
    expect(await client.list("/b", "LIST -a")).toBe("listing of /b\r\n");
    expect(server.sessions[0].commands).toEqual(["EPSV", "LIST -a /a", "PASV", "LIST -a /a", "PASV", "LIST -a /b"]);
    // told once, for the server's profile; the PASV replies named the control host: nothing to say of them
    expect(learnt).toEqual([["epsv", "EPSV refused (500 EPSV not understood): passive mode by PASV"]]);
    client.close();
  });

  it("starts with PASV on a server known to refuse EPSV", async () => {
    const { client, server } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "PASV") return s.pasv();
      if (verb === "LIST") return s.data.send("listing\r\n");
      s.reply("500 not understood");
    });
    client.techniquesOff = { epsv: "EPSV refused (500): passive mode by PASV" };
    expect(await client.list("/a", "LIST -a")).toBe("listing\r\n");
    expect(server.sessions[0].commands).toEqual(["PASV", "LIST -a /a"]);
    client.close();
  });

  it("gives the connection up at once, as `closed`, when the server starts the transfer sent behind a refused EPSV", async () => {
    // pyftpdlib answers 150 to a listing without a data port and waits for a connection that cannot come.
    const { client, server } = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.reply("500 EPSV not understood");
      if (verb === "MLSD") return s.reply("150 File status okay. About to open data connection.");
      s.reply("502 not here");
    });
    const learnt = learntBy(client);
    const err = await failure(client.list("/job", "MLSD"));
    expect(err).toMatchObject({ fault: "closed" });
    expect((err as Error).message).toContain("started MLSD without a data port after refusing EPSV");
    expect(classify(err).errorClass).toBe("transient");
    expect(client.closed).toBe(true);
    expect(server.sessions[0].commands).toEqual(["EPSV", "MLSD /job"]);
    // learnt before the connection was lost: the next connection starts with PASV
    expect(learnt.map(([technique]) => technique)).toEqual(["epsv"]);
  });

  it("reads a transfer's 150 that came in the same read as EPSV's reply: after 229 the transfer goes on, after 500 the connection is given up", async () => {
    // 229 and 150 in one write: the 150 is parsed before the code awaiting EPSV's reply runs. The
    // bytes must flow from that 150: a download larger than the sockets' buffers cannot reach its 226 before.
    const content = randomBytes(8 * 1024 * 1024);
    const ok = await clientOf(async (line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return; // answered together with the transfer's 150
      if (verb === "RETR") {
        const epsvReply = `229 Entering Extended Passive Mode (|||${await s.data.open(true)}|)`;
        const reply = s.reply;
        s.reply = (text) => {
          s.reply = reply;
          reply(`${epsvReply}\r\n${text}`);
        };
        return s.data.send(content);
      }
      s.reply("502 not here");
    });
    const { sink, bytes } = collector();
    await ok.client.download(sink, "/job/big.bin");
    expect(bytes().equals(content)).toBe(true);
    expect(ok.client.closed).toBe(false);
    ok.client.close();

    const refused = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return;
      if (verb === "LIST") return void s.socket.write("500 EPSV not understood\r\n150 About to open data connection\r\n");
      s.reply("502 not here");
    });
    const err = await failure(refused.client.list("/a", "LIST -a"));
    expect(err).toMatchObject({ fault: "closed" });
    expect((err as Error).message).toContain("started LIST without a data port after refusing EPSV");
  });

  it("connects to the control host when PASV replies name another host, and says so once per connection", async () => {
    const { client, server } = await clientOf(async (line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.reply("502 EPSV not implemented");
      if (verb === "PASV") {
        // the listener is on 127.0.0.1 (the control host); the reply names a foreign host
        const port = await s.data.open(true);
        return s.reply(`227 Entering Passive Mode (192,0,2,1,${port >> 8},${port & 255})`);
      }
      if (verb === "LIST") return s.data.send("listing\r\n");
      s.reply("425 Use PASV or EPSV first");
    });
    const learnt = learntBy(client);
    expect(await client.list("/a", "LIST -a")).toBe("listing\r\n");
    expect(await client.list("/b", "LIST -a")).toBe("listing\r\n");
    expect(client.closed).toBe(false);
    expect(learnt.map(([t]) => t)).toEqual(["epsv", "pasvAddress"]);
    expect(learnt[1][1]).toBe(
      "PASV replies name 192.0.2.1, another host than the one connected to: data connections go to the control connection's host (127.0.0.1) instead, never to another host",
    );
    expect(server.sessions[0].commands).toEqual(["EPSV", "LIST -a /a", "PASV", "LIST -a /a", "PASV", "LIST -a /b"]);
    client.close();
  });

  it("fails a transfer with `closed` when the server closes the connection under EPSV, leaving no unhandled rejection", async () => {
    const { client } = await clientOf((line, s) => (verbOf(line) === "EPSV" ? void s.socket.end() : s.reply("425 Use PASV or EPSV first")));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      expect(await failure(client.download(collector().sink, "/job/a.bin", 10))).toMatchObject({ fault: "closed" });
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("refuses a listing longer than maxListingBytes as `protocol`", async () => {
    const { client } = await clientOf((line, s) => {
      if (verbOf(line) === "EPSV") return s.epsv();
      if (verbOf(line) === "MLSD") return s.data.send("type=file;size=1; a.txt\r\n".repeat(400)); // 10 000 bytes
      s.reply("502 not here");
    }, 4096);
    const err = await failure(client.list("/job", "MLSD"));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ fault: "protocol" });
    expect((err as Error).message).toMatch(/listing of \/job is longer than/);
  });
});

describe("a listing sent behind other commands in one write, with a gate (the login's: connect.ts)", () => {
  const { cert, clientTls } = scriptedCertificate();

  /**
   * A server that answers the login and EPSV in one write (a port of its own that counts the
   * connections made to it) and starts the listing, whatever the login's replies said.
   */
  async function setup(loginReplies: string[]) {
    let dataConnections = 0;
    const listener = net.createServer((socket) => {
      dataConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const held: string[] = [];
    const server = await scriptedServer(cert(), (line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return void s.socket.write([...held.splice(0), `229 Entering Extended Passive Mode (|||${port}|)`].map((r) => r + "\r\n").join(""));
      if (verb === "MLSD") return s.reply("150 Here it comes");
      held.push(loginReplies[held.length] ?? "200 OK");
    });
    const control = await connected(server, clientTls(), 5_000);
    const client = new FtpClient(control, { options: clientTls() }, 1024 * 1024);
    return { client, server, dataConnections: () => dataConnections, close: () => (control.close(), listener.close()) };
  }

  it("opens no data connection, nor tries PASV, when the gate refuses: the port is used only once it opened", async () => {
    const { client, server, dataConnections, close } = await setup(["331 Password required", "530 Login incorrect"]);
    try {
      let firstReplies: Promise<unknown>[] = [];
      const err = await failure(
        client.list("/job", "MLSD", { first: ["USER alice", "PASS secret"], firstSent: (r) => (firstReplies = r), gate: () => Promise.reject(new Error("login refused")) }),
      );
      expect((err as Error).message).toBe("login refused");
      expect(await Promise.all(firstReplies)).toMatchObject([{ code: 331 }, { code: 530 }]);
      await sleep(200);
      expect(dataConnections()).toBe(0);
      expect(server.sessions[0].commands).toEqual(["USER alice", "PASS secret", "EPSV", "MLSD /job"]);
    } finally {
      close();
    }
  });

  it("sends the commands and the listing in one write, and connects once the gate opened", async () => {
    const { client, server, dataConnections, close } = await setup(["331 Password required", "230 Logged in"]);
    try {
      let gateOpened = false;
      const listed = client.list("/job", "MLSD", { first: ["USER alice", "PASS secret"], firstSent: () => undefined, gate: async () => void (gateOpened = true) });
      listed.catch(() => undefined);
      const deadline = Date.now() + 3_000;
      while (dataConnections() === 0 && Date.now() < deadline) await sleep(10);
      expect(gateOpened).toBe(true);
      expect(dataConnections()).toBe(1);
      expect(server.sessions[0].chunks.filter((c) => c.includes("USER alice"))).toEqual(["USER alice\r\nPASS secret\r\nEPSV\r\nMLSD /job\r\n"]);
    } finally {
      close();
    }
  });
});

describe("sending a range of an open file into a data connection", () => {
  function fileWith(content: Buffer): number {
    const path = join(testTempDir("file-range"), "source.bin");
    writeFileSync(path, content);
    return openSync(path, "r");
  }

  it("refills each of its two buffers only once the socket took the bytes it held: a slow socket gets the file as it is", async () => {
    const content = randomBytes(10 * 4096 + 123);
    const fd = fileWith(content);
    const taken: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    // Takes each chunk a moment after it was written, copying it only then.
    const socket = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, next) {
        buffers.add(chunk.buffer);
        setTimeout(() => {
          taken.push(Buffer.from(chunk));
          next();
        }, 2);
      },
    });
    try {
      await new Promise<void>((resolve, reject) => sendFileRange(socket, { fd, start: 0 }, (err) => (err ? reject(err) : resolve()), 4096));
      expect(Buffer.concat(taken).equals(content)).toBe(true);
      expect(taken.length).toBe(11);
      expect(buffers.size).toBe(2);
      expect(socket.writableFinished).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it("fails with the read's error and destroys the socket", async () => {
    const fd = fileWith(randomBytes(100));
    closeSync(fd);
    const socket = new Writable({ write: (_c, _e, next) => next() });
    const err = await new Promise<Error | null | undefined>((resolve) => sendFileRange(socket, { fd, start: 0 }, resolve));
    expect(err).toMatchObject({ code: "EBADF" });
    expect(socket.destroyed).toBe(true);
  });

  it("fails with the socket's error when the socket is destroyed during the transfer", async () => {
    const fd = fileWith(randomBytes(64 * 1024));
    let writes = 0;
    const socket = new Writable({
      highWaterMark: 1,
      write(_c, _e, next) {
        if (++writes === 2) return next(Object.assign(new Error("reset"), { code: "ECONNRESET" }));
        next();
      },
    });
    try {
      const err = await new Promise<Error | null | undefined>((resolve) => sendFileRange(socket, { fd, start: 0 }, resolve, 4096));
      expect(err).toMatchObject({ code: "ECONNRESET" });
      expect(writes).toBe(2);
    } finally {
      closeSync(fd);
    }
  });
});
