// The control connection's technique "writeDuringTransfer" (src/protocol/engine/control.ts)
// against a scripted TLS server: the next transfer written while one runs, one ahead at most, and
// a server that answers or refuses such a write out of turn caught before any reply is misread.
import { describe, expect, it } from "vitest";
import { isUnansweredBehind, isWrittenDuringTransfer, type ControlConnection } from "../../src/protocol/engine/control.js";
import type { Reply } from "../../src/protocol/engine/reply-parser.js";
import { connected, failure, scriptedCertificate, scriptedServer, verbOf } from "./scripted-control.js";

const { cert, clientTls } = scriptedCertificate();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A transfer command: its replies resolve in order; `opensTransfer` as the engine's transfers send it. */
const transfer = (control: ControlConnection, command: string): Promise<Reply> => control.send([command], [{ opensTransfer: true }])[0];

/** A server whose transfers (STOR) take `ms`: 150, then 226; anything else gets 200. */
const slowTransfers = (ms: number) =>
  scriptedServer(cert(), async (line, s) => {
    if (verbOf(line) !== "STOR") return s.reply("200 OK");
    s.reply("150 Ok to send data.");
    await sleep(ms);
    s.reply("226 Transfer complete.");
  });

/** A connection to slowTransfers(150) with the technique on, and for each write whether it went during a transfer. */
async function writingDuringSlowTransfers() {
  const server = await slowTransfers(150);
  const control = await connected(server, clientTls());
  control.writeDuringTransfer = () => true;
  const during: boolean[] = [];
  control.onWrite = (_commands, at) => void during.push(!!at?.duringTransfer);
  return { server, control, during };
}

describe("ControlConnection.writeDuringTransfer", () => {
  it("on: the next transfer is written while one runs, a third only once the first ended; replies stay in order", async () => {
    const { server, control, during } = await writingDuringSlowTransfers();
    const replies = [transfer(control, "STOR a"), transfer(control, "STOR b"), transfer(control, "STOR c")];
    await sleep(75);
    const s = server.sessions[0];
    // a runs, b is written ahead, c waits (a rename asked now would go ahead of it).
    expect(s.chunks.join("")).toBe("STOR a\r\nSTOR b\r\n");
    const rename = control.send(["RNFR x", "RNTO y"]);
    expect((await Promise.all(replies)).map((r) => r.code)).toEqual([226, 226, 226]);
    expect((await Promise.all(rename)).map((r) => r.code)).toEqual([200, 200]);
    expect(s.commands).toEqual(["STOR a", "STOR b", "RNFR x", "RNTO y", "STOR c"]);
    expect(during).toEqual([false, true, true]);
    control.close();
  });

  it("on: a write marked betweenTransfers (a NOOP that times a round trip) still waits for the running transfer's end", async () => {
    const { server, control, during } = await writingDuringSlowTransfers();
    const stor = transfer(control, "STOR a");
    const noop = control.request("NOOP", { betweenTransfers: true });
    await sleep(75);
    const s = server.sessions[0];
    expect(s.chunks.join("")).toBe("STOR a\r\n");
    expect((await stor).code).toBe(226);
    expect((await noop).code).toBe(200);
    expect(s.commands).toEqual(["STOR a", "NOOP"]);
    expect(during).toEqual([false, false]);
    control.close();
  });

  it("off (the default): nothing is written while a transfer runs", async () => {
    const server = await slowTransfers(150);
    const control = await connected(server, clientTls());
    const replies = [transfer(control, "STOR a"), transfer(control, "STOR b")];
    await sleep(75);
    expect(server.sessions[0].chunks.join("")).toBe("STOR a\r\n");
    expect((await Promise.all(replies)).map((r) => r.code)).toEqual([226, 226]);
    control.close();
  });

  it.each([
    ["answers it at once", "229 Entering Extended Passive Mode (|||5|)"],
    ["refuses it once the transfer started", "503 Transfer in progress"],
  ])("a server that reads a write made during a transfer and %s: the connection is closed, every command fails marked for the profile", async (_what, outOfTurn) => {
    const server = await scriptedServer(cert(), async (line, s) => {
      if (line !== "STOR a") return;
      s.reply("150 Ok to send data.");
      await sleep(60);
      // The reply to what was written behind, while the transfer still runs.
      s.reply(outOfTurn);
      await sleep(60);
      s.reply("226 Transfer complete.");
    });
    const control = await connected(server, clientTls());
    control.writeDuringTransfer = () => true;
    const a = transfer(control, "STOR a");
    const [epsv, b] = control.send(["EPSV", "STOR b"], [{}, { opensTransfer: true }]);
    for (const p of [a, epsv, b]) {
      const err = await failure(p);
      expect(isWrittenDuringTransfer(err), String(err)).toBe(true);
    }
    expect(String(await failure(a))).toMatch(/answered during a transfer a command written behind it \(STOR got: \d{3}/);
    expect(control.closed).toBe(true);
  });

  it("a transfer refused before it started (553, no 150) is its own reply: the connection stays in step", async () => {
    const server = await scriptedServer(cert(), async (line, s) => {
      if (line === "STOR a") {
        await sleep(40);
        return s.reply("553 Could not create file.");
      }
      s.reply("150 Ok to send data.");
      await sleep(20);
      s.reply("226 Transfer complete.");
    });
    const control = await connected(server, clientTls());
    control.writeDuringTransfer = () => true;
    const a = transfer(control, "STOR a");
    const b = transfer(control, "STOR b");
    expect((await a).code).toBe(553);
    expect((await b).code).toBe(226);
    expect(server.sessions[0].chunks.join("")).toBe("STOR a\r\nSTOR b\r\n");
    expect(control.closed).toBe(false);
    control.close();
  });

  it("a transfer's own failure after its 150 (426) is its reply: the connection stays in step", async () => {
    const server = await scriptedServer(cert(), async (line, s) => {
      s.reply("150 Ok to send data.");
      await sleep(30);
      s.reply(line === "STOR a" ? "426 Failure reading network stream." : "226 Transfer complete.");
    });
    const control = await connected(server, clientTls());
    control.writeDuringTransfer = () => true;
    const a = transfer(control, "STOR a");
    const b = transfer(control, "STOR b");
    expect((await a).code).toBe(426);
    expect((await b).code).toBe(226);
    expect(control.closed).toBe(false);
    control.close();
  });

  it("a command written during a transfer and never answered times out marked for this technique, not as a dropped pipelined command", async () => {
    const server = await scriptedServer(cert(), async (line, s) => {
      if (line !== "STOR a") return; // a naive server drops what came during the transfer
      s.reply("150 Ok to send data.");
      await sleep(40);
      s.reply("226 Transfer complete.");
    });
    const control = await connected(server, clientTls(), 400);
    control.writeDuringTransfer = () => true;
    const a = transfer(control, "STOR a");
    const b = transfer(control, "STOR b");
    expect((await a).code).toBe(226);
    const err = await failure(b);
    expect(isWrittenDuringTransfer(err)).toBe(true);
    expect(isUnansweredBehind(err)).toBe(false);
  });
});
