import { describe, expect, it } from "vitest";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { replyText } from "../../src/protocol/reply-text.js";

describe("replyText", () => {
  it("shows the reply code once when the reply's text already starts with it, as the engine's replies do", () => {
    const err = new ReplyError({ code: 500, message: "500 AUTH not understood" });
    expect(replyText(err.code, err.message)).toBe("500 AUTH not understood");
  });

  it("puts the code in front of a text that lacks it", () => {
    expect(replyText(534, "Request denied")).toBe("534 Request denied");
    expect(replyText(534, "")).toBe("534");
  });

  it("does not mistake a number in the text for the code", () => {
    expect(replyText(550, "5500 bytes over quota")).toBe("550 5500 bytes over quota");
  });

  it("joins a multi-line reply on one line", () => {
    expect(replyText(530, "530-Login refused\r\n530 Contact the admin\r\n")).toBe("530-Login refused 530 Contact the admin");
  });
});
