import { describe, expect, it } from "vitest";
import { redact, registerSecret } from "../../src/log.js";

describe("redact", () => {
  it("replaces a long secret wherever it appears, even inside other text", () => {
    registerSecret("S3cret-passw0rd");
    expect(redact("PASS S3cret-passw0rd")).toBe("PASS [redacted]");
    expect(redact("xxS3cret-passw0rdyy")).toBe("xx[redacted]yy");
  });

  it("replaces a short secret only where it stands alone, so it neither garbles words nor gives itself away", () => {
    registerSecret("x");
    expect(redact("cannot connect (127.0.0.1:21, explicit TLS)")).toBe("cannot connect (127.0.0.1:21, explicit TLS)");
    expect(redact("PASS x")).toBe("PASS [redacted]");
    expect(redact("user:x@host")).toBe("user:[redacted]@host");
  });

  it("treats regular-expression characters in a secret literally", () => {
    registerSecret("a.b*c(d)");
    expect(redact("got a.b*c(d) and aXbbc(d)")).toBe("got [redacted] and aXbbc(d)");
  });
});
