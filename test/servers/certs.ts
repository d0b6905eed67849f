// Test certificates for the FTPS test servers, made with the openssl CLI.
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface GeneratedCert {
  /** server certificate, PEM file */
  certPath: string;
  /** server private key, PEM file (unencrypted) */
  keyPath: string;
  /** certificate followed by key in one PEM file (Pure-FTPd wants this) */
  bundlePath: string;
  certPem: string;
  keyPem: string;
  /** CA that signed the certificate (ca-signed mode only) */
  caPath?: string;
  caPem?: string;
  /** pinning form: "sha256:AB:CD:..." (uppercase hex, colon separated) */
  fingerprint: string;
}

export interface CertOptions {
  /** "self-signed" (default) or "ca-signed" (a fresh test CA signs the server cert) */
  mode?: "self-signed" | "ca-signed";
  /** SAN entries; IPs become IP:, names DNS:. Default ["localhost", "127.0.0.1"] */
  hosts?: string[];
  /** subject CN; default the first host */
  commonName?: string;
  /** file name prefix inside dir; default "server" */
  name?: string;
}

export function fingerprintOf(pem: string): string {
  return "sha256:" + new X509Certificate(pem).fingerprint256.toUpperCase();
}

function sanOf(hosts: string[]): string {
  return "subjectAltName=" + hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${err.stderr ?? err.message}`);
  }
}

/** Generates a certificate (and key, and CA when ca-signed) into dir. */
export async function generateCert(dir: string, opts: CertOptions = {}): Promise<GeneratedCert> {
  const mode = opts.mode ?? "self-signed";
  const hosts = opts.hosts && opts.hosts.length > 0 ? opts.hosts : ["localhost", "127.0.0.1"];
  const cn = opts.commonName ?? hosts[0];
  const name = opts.name ?? "server";
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const bundlePath = join(dir, `${name}.pem`);
  let caPath: string | undefined;
  let caPem: string | undefined;

  if (mode === "self-signed") {
    await openssl([
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
      "-subj", `/CN=${cn}`, "-addext", sanOf(hosts),
      "-keyout", keyPath, "-out", certPath,
    ]);
  } else {
    caPath = join(dir, `${name}-ca.crt`);
    const caKey = join(dir, `${name}-ca.key`);
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    await openssl([
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
      "-subj", "/CN=ftps-sync test CA",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      "-keyout", caKey, "-out", caPath,
    ]);
    await openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", keyPath, "-out", csr]);
    await writeFile(
      ext,
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        sanOf(hosts),
        "",
      ].join("\n"),
    );
    await openssl([
      "x509", "-req", "-in", csr, "-CA", caPath, "-CAkey", caKey, "-CAcreateserial",
      "-days", "2", "-sha256", "-extfile", ext, "-out", certPath,
    ]);
    caPem = await readFile(caPath, "utf8");
  }
  const certPem = await readFile(certPath, "utf8");
  const keyPem = await readFile(keyPath, "utf8");
  await writeFile(bundlePath, certPem + keyPem, { mode: 0o600 });
  return { certPath, keyPath, bundlePath, certPem, keyPem, caPath, caPem, fingerprint: fingerprintOf(certPem) };
}
