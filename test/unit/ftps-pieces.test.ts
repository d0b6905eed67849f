import { describe, expect, it } from "vitest";
import { parseCapabilities } from "../../src/remote/capabilities.js";
import { classify } from "../../src/protocol/classify.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { fingerprintOfDer } from "../../src/protocol/fingerprint.js";
import { clientCertificateProblem, contextOptionsOf, tlsOptionsFor } from "../../src/protocol/tls-options.js";
import { Secret } from "../../src/secret.js";
import { rootCertificates } from "node:tls";
import { RemoteError } from "../../src/errors.js";
import { parseDosListTime, parseUnixListTime, remoteTimeOf, remoteTimeReader } from "../../src/protocol/list-times.js";
import { localPathInside, unsafeNameReason } from "../../src/plan/names.js";
import { backoffDelay } from "../../src/remote/retry.js";

const ftpErr = (code: number) => new ReplyError({ code, message: `${code} reply` });
/** A listing entry as the time reader takes it. */
type FileInfo = Parameters<typeof remoteTimeOf>[0];

describe("error classification", () => {
  it.each([
    [421, "transient", false],
    [425, "transient", false],
    [426, "transient", false],
    [450, "transient", false],
    [451, "transient", false],
    [452, "permanent", true],
    [552, "permanent", true],
    [530, "permanent", true],
    [550, "permanent", false],
    [553, "permanent", false],
  ] as const)("reply %i is %s (stops the job: %s)", (code, cls, stops) => {
    expect(classify(ftpErr(code))).toMatchObject({ errorClass: cls, stopsJob: stops, code });
  });

  it.each([
    [{ code: "ECONNRESET", message: "reset" }, "transient"],
    [{ code: "ETIMEDOUT", message: "t" }, "transient"],
    [{ code: "ERR_STREAM_PREMATURE_CLOSE", message: "Premature close" }, "transient"],
    // Connection faults are typed where they happen (src/protocol/engine/); the text is never read.
    [new RemoteError("timed out", { fault: "timeout", kind: "transient", phase: "operation" }), "transient"],
    [new Error("Timeout (data socket)"), "permanent"],
    [new Error("Server sent FIN packet unexpectedly, closing connection."), "permanent"],
    [{ code: "ERR_TLS_CERT_ALTNAME_INVALID", message: "bad name" }, "permanent"],
    [{ code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: "self signed" }, "permanent"],
    [new TypeError("x is undefined"), "permanent"],
  ])("%o is %s", (err, cls) => {
    expect(classify(err).errorClass).toBe(cls);
  });

  it("keeps the kind a RemoteError already carries", () => {
    expect(classify(new RemoteError("pin", { kind: "tls", phase: "connect" }))).toMatchObject({ kind: "tls", errorClass: "permanent", stopsJob: true });
  });
});

describe("capabilities from FEAT", () => {
  it("reads vsftpd's LIST-only feature set", () => {
    const c = parseCapabilities(new Map([["EPRT", ""], ["EPSV", ""], ["MDTM", ""], ["PASV", ""], ["PBSZ", ""], ["PROT", ""], ["REST", "STREAM"], ["SIZE", ""], ["TVFS", ""]]));
    expect(c).toMatchObject({ mlsd: false, mfmt: false, mdtm: true, size: true, restStream: true, utf8: false, hash: [] });
  });
  it("reads MLST, MFMT, UTF8 and HASH algorithms", () => {
    const c = parseCapabilities(new Map([["MLST", "type*;size*;modify*;"], ["MFMT", ""], ["UTF8", ""], ["HASH", "SHA-256*;SHA-1;MD5;CRC32"]]));
    expect(c).toMatchObject({ mlsd: true, mfmt: true, utf8: true, hash: ["SHA-256", "SHA-1", "MD5", "CRC32"] });
  });
});

describe("fingerprints", () => {
  it("formats SHA-256 of the DER as openssl prints it, with a sha256: prefix", () => {
    const fp = fingerprintOfDer(Buffer.from("abc"));
    expect(fp).toBe("sha256:BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD");
  });
});

describe("TLS options", () => {
  const host = "ftp.example.test";
  const maxTlsVersion = "1.3" as const;
  it("with a pin: chain checks off and an empty trust store (no root certificates parsed at start)", () => {
    const o = tlsOptionsFor({ host, maxTlsVersion, fingerprint: "sha256:AA", ca: "-----BEGIN CERTIFICATE-----" });
    expect(o.rejectUnauthorized).toBe(false);
    expect(o.ca).toEqual([]);
  });
  it("without a pin: the chain is verified, against the system roots plus the remote's ca", () => {
    expect(tlsOptionsFor({ host, maxTlsVersion }).rejectUnauthorized).toBe(true);
    expect(tlsOptionsFor({ host, maxTlsVersion }).ca).toBeUndefined(); // Node's own roots
    const withCa = tlsOptionsFor({ host, maxTlsVersion, ca: "PEM" });
    expect(withCa.rejectUnauthorized).toBe(true);
    expect(withCa.ca).toEqual([...rootCertificates, "PEM"]);
  });
  it("with a client certificate: the certificate and its key go into the options and the shared context's", () => {
    const o = tlsOptionsFor({ host, maxTlsVersion, clientCert: "CERT PEM", clientKey: new Secret("KEY PEM") });
    expect(o).toMatchObject({ cert: "CERT PEM", key: "KEY PEM" });
    expect(contextOptionsOf(o)).toMatchObject({ cert: "CERT PEM", key: "KEY PEM" });
    expect(tlsOptionsFor({ host, maxTlsVersion }).cert).toBeUndefined();
  });
  it.each([
    [{}, { code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" }, /requires a client certificate \(mutual TLS\): set "clientCert" and "clientKey"/],
    [{}, { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" }, /handshake failure\): if it requires a client certificate/],
    [{ clientCert: "PEM" }, { code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" }, /refused the client certificate/],
    [{ clientCert: "PEM" }, { code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" }, /did not take the one given/],
    [{}, { code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" }, undefined],
    [{ clientCert: "PEM" }, { code: "ECONNRESET" }, undefined],
  ])("names a client certificate problem from the TLS alert (%j, %j)", (remote, err, expected) => {
    const got = clientCertificateProblem(remote, Object.assign(new Error("tls"), err));
    if (expected) expect(got).toMatch(expected);
    else expect(got).toBeUndefined();
  });
});

describe("names from a server are hostile until checked", () => {
  it.each([
    ["../../etc/passwd", "contains /"],
    ["..", '".." segment'],
    [".", '"." segment'],
    ["a\\..\\b", "contains \\"],
    ["evil\0name", "contains NUL"],
    ["two\r\nlines", "contains CR or LF"],
    ["", "empty name"],
  ])("refuses %j (%s)", (name, why) => {
    expect(unsafeNameReason(name)).toBe(why);
  });
  it.each([["report.pdf"], [".hidden"], ["name with spaces"], ["café"], ["..double-dot-prefix"]])("accepts %j", (name) => {
    expect(unsafeNameReason(name)).toBeUndefined();
  });
  it("refuses a relative path that leaves the job folder", () => {
    expect(() => localPathInside("/srv/job", "a/../../etc/passwd")).toThrow(/outside the job folder/);
    expect(localPathInside("/srv/job", "a/b.txt")).toBe("/srv/job/a/b.txt");
  });
});

describe("LIST times", () => {
  const now = new Date(Date.UTC(2026, 10, 24, 2, 0));
  it("reads a recent Unix time with minute precision in the current year", () => {
    expect(parseUnixListTime("Nov 24 01:59", now)).toEqual({ modifyMs: Date.UTC(2026, 10, 24, 1, 59), precision: "minute" });
  });
  it("puts a date more than a day ahead in the previous year", () => {
    expect(parseUnixListTime("Dec 25 10:00", now)?.modifyMs).toBe(Date.UTC(2025, 11, 25, 10, 0));
  });
  it("reads an old Unix date with day precision", () => {
    expect(parseUnixListTime("Jan  2  2020", now)).toEqual({ modifyMs: Date.UTC(2020, 0, 2), precision: "day" });
  });
  it("reads DOS times, 12-hour and 24-hour", () => {
    expect(parseDosListTime("11-24-26 02:07PM")).toEqual({ modifyMs: Date.UTC(2026, 10, 24, 14, 7), precision: "minute" });
    expect(parseDosListTime("11-24-2026 00:07")).toEqual({ modifyMs: Date.UTC(2026, 10, 24, 0, 7), precision: "minute" });
    expect(parseDosListTime("11-24-26 12:07AM")?.modifyMs).toBe(Date.UTC(2026, 10, 24, 0, 7));
  });
  it("a listing's time reader gives what remoteTimeOf gives, for repeated and past-the-cache times", () => {
    const read = remoteTimeReader(now);
    const raws = ["Nov 24 01:59", "Dec 25 10:00", "Jan  2  2020", "11-24-26 02:07PM", "garbage", ""];
    // 5 040 distinct times: more than the reader keeps, so it starts over on the way.
    for (let day = 1; day <= 28; day++) for (let h = 0; h < 12; h++) for (let m = 0; m < 60; m += 4) raws.push(`Mar ${day} ${h}:${String(m).padStart(2, "0")}`);
    const infos = [...raws, ...raws, ...raws].map((rawModifiedAt) => ({ rawModifiedAt }) as FileInfo);
    infos.push({ rawModifiedAt: "Nov 24 01:59", modifiedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 5)) } as FileInfo);
    for (const info of infos) expect(read(info)).toEqual(remoteTimeOf(info, now));
    expect(read(infos.at(-1)!)).toEqual({ modifyMs: Date.UTC(2026, 0, 1, 0, 0, 0, 5), precision: "ms" });
  });
});

describe("retry backoff", () => {
  const policy = { attempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000 };
  it("grows exponentially with jitter inside [cap/2, cap], capped at maxDelay", () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 1)).toBe(1000);
    expect(backoffDelay(3, policy, () => 1)).toBe(4000);
    expect(backoffDelay(20, policy, () => 1)).toBe(60_000);
  });
});
