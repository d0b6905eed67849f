import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { Secret } from "../secret.js";
import { fieldError, type PasswordRef } from "./schema.js";
import { fsReason, resolvePassword } from "./secrets.js";
import type { RemoteConfig } from "./types.js";

export interface ClientCertContext {
  /** Folder that relative paths are resolved against (the config file's folder). */
  baseDir: string;
  configFile: string;
  /** The config path of a key of this remote: remotes.NAME.KEY. */
  field: (key: string) => string;
  env?: NodeJS.ProcessEnv;
  warn: (message: string) => void;
}

type ClientCertFields = Pick<RemoteConfig, "clientCert" | "clientCertPath" | "clientKey" | "clientKeyPath" | "clientKeyPassphraseFile">;

/**
 * A remote's client certificate for mutual TLS: the certificate and its private key (PEM files),
 * the key decrypted with its passphrase (from an environment variable or a file, like a password).
 * Everything is checked here, before anything connects: a missing or unreadable file, a file that
 * holds no certificate or key, a wrong or missing passphrase, a key that does not belong to the
 * certificate. Messages name files and fields, never a key or a passphrase.
 */
export function readClientCertificate(
  raw: { clientCert?: string; clientKey?: string; clientKeyPassphrase?: PasswordRef },
  ctx: ClientCertContext,
): ClientCertFields {
  const fail = (key: string, message: string) => fieldError(ctx.configFile, ctx.field(key), message);
  if (raw.clientCert === undefined && raw.clientKey === undefined) {
    if (raw.clientKeyPassphrase !== undefined) throw fail("clientKeyPassphrase", 'is used only with "clientCert" and "clientKey"');
    return {};
  }
  if (raw.clientKey === undefined) throw fail("clientKey", 'is required with "clientCert": the PEM file of the certificate\'s private key');
  if (raw.clientCert === undefined) throw fail("clientCert", 'is required with "clientKey": the PEM file of the client certificate');

  const certPath = resolve(ctx.baseDir, raw.clientCert);
  const certPem = readPem(certPath, "client certificate", (m) => fail("clientCert", m));
  let cert: X509Certificate;
  try {
    if (!certPem.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no PEM certificate");
    cert = new X509Certificate(certPem);
  } catch {
    throw fail("clientCert", `client certificate file ${certPath} does not contain a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
  if (Date.parse(cert.validTo) < Date.now()) {
    ctx.warn(`${ctx.configFile}: field "${ctx.field("clientCert")}": the client certificate in ${certPath} expired on ${cert.validTo}: servers will refuse it`);
  }

  const keyPath = resolve(ctx.baseDir, raw.clientKey);
  const keyPem = readPem(keyPath, "client key", (m) => fail("clientKey", m));
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) {
    throw fail("clientKey", `client key file ${keyPath} does not contain a PEM private key ("-----BEGIN ... PRIVATE KEY-----")`);
  }
  const mode = statSync(keyPath).mode;
  if ((mode & 0o077) !== 0) {
    ctx.warn(`${ctx.configFile}: field "${ctx.field("clientKey")}": client key file ${keyPath} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${keyPath}`);
  }

  let passphrase: Secret | undefined;
  if (raw.clientKeyPassphrase !== undefined) {
    const resolved = resolvePassword(raw.clientKeyPassphrase, { baseDir: ctx.baseDir, configFile: ctx.configFile, field: ctx.field("clientKeyPassphrase"), env: ctx.env });
    if (resolved.warning) ctx.warn(resolved.warning);
    passphrase = resolved.secret;
  }
  const key = decryptKey(keyPem, keyPath, passphrase, fail);
  if (!cert.checkPrivateKey(key)) {
    throw fail("clientKey", `the private key in ${keyPath} does not belong to the client certificate in ${certPath}`);
  }
  const out: ClientCertFields = {
    clientCert: certPem,
    clientCertPath: certPath,
    // Decrypted once here: TLS contexts need no passphrase, and a wrong one fails now, not at connect.
    clientKey: new Secret(key.export({ type: "pkcs8", format: "pem" }) as string),
    clientKeyPath: keyPath,
  };
  if (raw.clientKeyPassphrase !== undefined && "file" in raw.clientKeyPassphrase) out.clientKeyPassphraseFile = resolve(ctx.baseDir, raw.clientKeyPassphrase.file);
  return out;
}

function readPem(path: string, what: string, fail: (message: string) => Error): string {
  try {
    if (!statSync(path).isFile()) throw fail(`${what} file ${path} is not a regular file`);
    return readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(`cannot read ${what} file ${path}: ${fsReason(err)}`);
  }
}

function decryptKey(pem: string, path: string, passphrase: Secret | undefined, fail: (key: string, message: string) => Error): KeyObject {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && !passphrase) {
    throw fail("clientKeyPassphrase", `is required: the client key in ${path} is encrypted; give its passphrase as { "env": "NAME" } or { "file": "PATH" }`);
  }
  try {
    // An empty passphrase for a key that is not encrypted: OpenSSL ignores it.
    return createPrivateKey({ key: pem, format: "pem", passphrase: passphrase?.reveal() ?? "" });
  } catch {
    // OpenSSL's own message is not shown: it says nothing more useful, and nothing here may echo a secret.
    if (encrypted) throw fail("clientKeyPassphrase", `cannot decrypt the client key in ${path}: wrong passphrase`);
    throw fail("clientKey", `cannot read the private key in ${path}: not a valid PEM private key`);
  }
}
