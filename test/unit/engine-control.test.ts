// The control connection (src/protocol/engine/control.ts) against a scripted TLS server on
// loopback (test/unit/scripted-control.ts): pipelining, preliminary replies, refused command
// lines, the server's faults, the reply deadline and AUTH TLS.
import type net from "node:net";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { ControlConnection } from "../../src/protocol/engine/control.js";
import type { Reply } from "../../src/protocol/engine/reply-parser.js";
import { connected, failure, scriptedCertificate, scriptedServer, verbOf } from "./scripted-control.js";

const { cert, clientTls } = scriptedCertificate();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const closedWith = (control: ControlConnection) => new Promise<Error>((r) => control.onClose(r));

describe("ControlConnection: commands and replies", () => {
  it("sends pipelined commands in one write and matches the replies in order, even when they come in one chunk", async () => {
    const server = await scriptedServer(cert(), (line, s) => {
      if (verbOf(line) === "PWD") s.reply('200 noop\r\n215 UNIX Type: L8\r\n257 "/" is the current folder');
    });
    const control = await connected(server, clientTls());
    const replies = await Promise.all(control.send(["NOOP", "SYST", "PWD"]));
    expect(replies).toEqual([
      { code: 200, message: "200 noop" },
      { code: 215, message: "215 UNIX Type: L8" },
      { code: 257, message: '257 "/" is the current folder' },
    ]);
    expect(server.sessions[0].chunks).toEqual(["NOOP\r\nSYST\r\nPWD\r\n"]);
    control.close();
  });

  it("gives a preliminary 150 to onPreliminary and resolves with the final reply", async () => {
    const server = await scriptedServer(cert(), async (line, s) => {
      s.reply("150 Opening data connection");
      await sleep(50);
      s.reply("226 Transfer complete");
    });
    const control = await connected(server, clientTls());
    const preliminary: Reply[] = [];
    const reply = await control.request("RETR a.txt", { onPreliminary: (r) => preliminary.push(r) });
    expect(preliminary).toEqual([{ code: 150, message: "150 Opening data connection" }]);
    expect(reply).toEqual({ code: 226, message: "226 Transfer complete" });
    control.close();
  });

  it.each([
    ["a CR LF", "DELE a.txt\r\nRMD /"],
    ["a LF", "DELE a.txt\nRMD /"],
    ["a CR", "DELE a.txt\rRMD /"],
    ["a NUL", "DELE a.txt\0.bak"],
  ])("refuses a command with %s and sends nothing of its write", async (_what, bad) => {
    const server = await scriptedServer(cert(), (_line, s) => s.reply("200 ok"));
    const control = await connected(server, clientTls());
    const [first, second] = control.send(["NOOP", bad]).map(failure);
    for (const err of [await first, await second]) {
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).fault).toBe("protocol");
    }
    expect(control.closed).toBe(false);
    expect(await control.request("PWD")).toEqual({ code: 200, message: "200 ok" });
    expect(server.sessions[0].commands).toEqual(["PWD"]);
    control.close();
  });
});

describe("ControlConnection: the server's faults", () => {
  it("closes the connection with `closed` on a 421 that no command asked for", async () => {
    const server = await scriptedServer(cert(), async (_line, s) => {
      s.reply("200 ok");
      await sleep(20);
      s.reply("421 Idle timeout, closing");
    });
    const control = await connected(server, clientTls());
    const closed = closedWith(control);
    expect((await control.request("NOOP")).code).toBe(200);
    const err = await closed;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ fault: "closed", code: 421, errorClass: "transient" });
    expect(err.message).toContain("421 Idle timeout, closing");
    expect(control.closed).toBe(true);
    expect(await failure(control.request("NOOP"))).toBe(err);
  });

  it("closes the connection with `protocol` on a reply longer than 64 KiB", async () => {
    const server = await scriptedServer(cert(), (_line, s) => {
      s.reply("213-Status of /");
      for (let i = 0; i < 70; i++) s.reply(" " + "x".repeat(1000));
    });
    const control = await connected(server, clientTls());
    const err = await failure(control.request("STAT /"));
    expect(err).toMatchObject({ fault: "protocol" });
    expect((err as Error).message).toMatch(/longer than 64 KiB/);
    expect(control.closed).toBe(true);
  });

  it("closes the connection with `closed` when the server ends it under a command", async () => {
    const server = await scriptedServer(cert(), (_line, s) => void s.socket.end());
    const control = await connected(server, clientTls());
    const [a, b] = control.send(["NOOP", "PWD"]).map(failure);
    expect(await a).toMatchObject({ fault: "closed" });
    expect(await b).toBe(await a);
  });
});

describe("ControlConnection: implicit TLS", () => {
  it("fails the greeting with Node's certificate error, unchanged, when the server's certificate is not trusted", async () => {
    const server = await scriptedServer(cert(), (_line, s) => s.reply("200 ok"));
    const { control, greeting } = ControlConnection.open("127.0.0.1", server.port, 5_000, { host: "127.0.0.1", ca: [] });
    const err = await failure(greeting);
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(control.closed).toBe(true);
    expect(server.sessions[0]?.commands ?? []).toEqual([]);
  });
});

describe("ControlConnection: what it logs", () => {
  it("logs every command and reply, the password never", async () => {
    const server = await scriptedServer(cert(), (line, s) => s.reply(verbOf(line) === "USER" ? "331 Password required" : "230 Logged in"));
    const control = await connected(server, clientTls());
    const lines: string[] = [];
    control.log = (line) => lines.push(line);
    await Promise.all(control.send(["USER alice", "PASS s3cret-Pw_9"]));
    expect(lines).toEqual(["> USER alice | PASS ###", "< 331 Password required", "< 230 Logged in"]);
    expect(server.sessions[0].commands).toEqual(["USER alice", "PASS s3cret-Pw_9"]);
    control.close();
  });
});

describe("ControlConnection: the reply deadline", () => {
  it("times out a reply trickled a byte every 50 ms: bytes arriving do not push the deadline back", async () => {
    const server = await scriptedServer(cert(), (_line, s) => {
      s.socket.write("200 ");
      const drip = setInterval(() => (s.socket.destroyed ? clearInterval(drip) : s.socket.write("x")), 50);
      s.socket.once("close", () => clearInterval(drip));
    });
    const control = await connected(server, clientTls(), 300);
    const err = await failure(control.request("NOOP"));
    expect(err).toMatchObject({ fault: "timeout" });
    expect((err as Error).message).toMatch(/no answer within 300 ms on the control connection, waiting for the complete reply to NOOP/);
  }, 10_000);

  it("holds the deadline while hold() is in force, and its release starts it again", async () => {
    const server = await scriptedServer(cert(), () => undefined); // never answers
    const control = await connected(server, clientTls(), 200);
    const release = control.hold();
    const reply = failure(control.request("RETR big.bin"));
    await sleep(700);
    expect(control.closed).toBe(false);
    release();
    const err = await reply;
    expect(err).toMatchObject({ fault: "timeout" });
    expect((err as Error).message).toMatch(/waiting for the complete reply to RETR/);
  });

  it("resolves a command whose final reply comes long after the timeout while a hold is in force", async () => {
    const server = await scriptedServer(cert(), async (_line, s) => {
      s.reply("150 Opening data connection");
      await sleep(700);
      s.reply("226 Transfer complete");
    });
    const control = await connected(server, clientTls(), 200);
    const release = control.hold();
    expect(await control.request("RETR big.bin")).toEqual({ code: 226, message: "226 Transfer complete" });
    release();
    expect(control.closed).toBe(false);
    control.close();
  });
});

describe("ControlConnection: AUTH TLS", () => {
  it("upgrades to TLS after 234 and sends the next commands over TLS", async () => {
    const server = await scriptedServer(
      cert(),
      (line, s) => {
        if (verbOf(line) === "AUTH") {
          s.reply("234 Proceed with negotiation");
          return s.startTls();
        }
        s.reply(`200 over TLS: ${s.socket instanceof tls.TLSSocket}`);
      },
      { implicit: false },
    );
    const { control, greeting } = ControlConnection.open("127.0.0.1", server.port, 5_000);
    expect((await greeting).code).toBe(220);
    expect(control.tlsSocket).toBeUndefined();
    expect(await control.request("AUTH TLS")).toEqual({ code: 234, message: "234 Proceed with negotiation" });
    const socket = await control.upgrade(clientTls());
    expect(socket.encrypted).toBe(true);
    expect(socket.authorized).toBe(true);
    expect(control.tlsSocket).toBe(socket);
    expect(await Promise.all(control.send(["USER alice", "PBSZ 0"]))).toEqual([
      { code: 200, message: "200 over TLS: true" },
      { code: 200, message: "200 over TLS: true" },
    ]);
    expect(server.sessions[0].commands).toEqual(["AUTH TLS", "USER alice", "PBSZ 0"]);
    control.close();
  });

  it("fails with Node's ECONNRESET, unchanged, when the server resets the connection after the upgrade", async () => {
    let raw: net.Socket | undefined;
    const server = await scriptedServer(
      cert(),
      (line, s) => {
        if (verbOf(line) === "AUTH") {
          raw = s.socket;
          s.reply("234 Proceed with negotiation");
          return s.startTls();
        }
        raw!.resetAndDestroy();
      },
      { implicit: false },
    );
    const { control, greeting } = ControlConnection.open("127.0.0.1", server.port, 5_000);
    await greeting;
    await control.request("AUTH TLS");
    await control.upgrade(clientTls());
    const err = await failure(control.request("NOOP"));
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "ECONNRESET" });
    expect(control.closed).toBe(true);
  });
});
