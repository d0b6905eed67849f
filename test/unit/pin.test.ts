import type { TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { fingerprintOfDer } from "../../src/protocol/fingerprint.js";
import { verifyPin } from "../../src/protocol/tls-options.js";

/** A socket whose peer presents a certificate with these DER bytes (all verifyPin reads of it). */
const presenting = (der: Buffer | undefined) => ({ getPeerCertificate: () => (der ? { raw: der } : {}) }) as unknown as TLSSocket;

describe("the pinned certificate", () => {
  const der = Buffer.from("the server's certificate, DER");
  const pin = fingerprintOfDer(der);

  it("is accepted when the peer's certificate has the pinned fingerprint", () => {
    expect(() => verifyPin(presenting(der), pin, "srv")).not.toThrow();
  });

  it("refuses another certificate, naming both fingerprints", () => {
    const other = Buffer.from("another certificate, DER");
    expect(() => verifyPin(presenting(other), pin, "srv")).toThrow(`srv: the server certificate's fingerprint ${fingerprintOfDer(other)} does not match the pinned fingerprint ${pin}`);
  });

  it("refuses a peer that presents no certificate", () => {
    expect(() => verifyPin(presenting(undefined), pin, "srv")).toThrow(/fingerprint \(none\) does not match/);
  });
});
