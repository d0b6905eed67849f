import { connect as netConnect } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { parseEpsvReply } from "../../src/protocol/engine/data.js";
import { ControlConnection } from "../../src/protocol/engine/control.js";
import type { Reply } from "../../src/protocol/engine/reply-parser.js";

/**
 * A control connection opened by hand through the product's engine, for tests that check what a
 * server refuses one step at a time (no login, no PROT P, no TLS): the greeting read, and with
 * `tls`, AUTH TLS answered 234 and the connection encrypted. Nothing else is sent.
 */
export async function openControl(host: string, port: number, opts: { tls?: ConnectionOptions; timeoutMs?: number } = {}): Promise<{ control: ControlConnection; greeting: Reply }> {
  const { control, greeting } = ControlConnection.open(host, port, opts.timeoutMs ?? 10_000);
  try {
    const hello = await greeting;
    if (opts.tls) {
      const auth = await control.request("AUTH TLS");
      if (auth.code !== 234) throw new Error(`AUTH TLS refused: ${auth.message}`);
      await control.upgrade({ host, ...opts.tls });
    }
    return { control, greeting: hello };
  } catch (err) {
    control.close();
    throw err;
  }
}

/** USER and PASS in one write; the two replies, whatever their codes. */
export async function sendLogin(control: ControlConnection, user: string, password: string): Promise<{ user: Reply; pass: Reply }> {
  const [u, p] = await Promise.all(control.send([`USER ${user}`, `PASS ${password}`]));
  return { user: u, pass: p };
}

/**
 * LIST over a plaintext data connection (EPSV): the product's engine only opens protected ones.
 * For a server that serves plain FTP, to show that it does. Resolves with the listing's text and
 * LIST's final reply.
 */
export async function listInPlaintext(control: ControlConnection, host: string): Promise<{ text: string; reply: Reply }> {
  const epsv = await control.request("EPSV");
  const port = epsv.code === 229 ? parseEpsvReply(epsv.message) : undefined;
  if (port === undefined) throw new Error(`EPSV refused: ${epsv.message}`);
  const data = netConnect({ host, port });
  const chunks: Buffer[] = [];
  const received = new Promise<void>((resolve, reject) => {
    data.on("data", (c: Buffer) => chunks.push(c));
    data.once("end", resolve);
    data.once("error", reject);
  });
  received.catch(() => undefined); // read below, once LIST is answered
  await new Promise<void>((resolve, reject) => {
    data.once("connect", resolve);
    data.once("error", reject);
  });
  try {
    const reply = await control.request("LIST");
    await received;
    return { text: Buffer.concat(chunks).toString("utf8"), reply };
  } finally {
    data.destroy();
  }
}
