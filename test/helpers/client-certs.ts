// Client certificates for the mutual TLS tests, made with the openssl CLI: a CA the server trusts,
// a client certificate it signed (its key encrypted with a passphrase), and a stranger's
// certificate signed by another CA.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

export interface ClientCerts {
  /** CA of the clients the server trusts (for TLSCACertificateFile) */
  caPath: string;
  certPath: string;
  /** the client key, encrypted (PKCS#8, AES-256) with `passphrase` */
  keyPath: string;
  /** the same key, not encrypted */
  plainKeyPath: string;
  passphrase: string;
  /** a client certificate and key (not encrypted) signed by a CA the server does not trust */
  strangerCertPath: string;
  strangerKeyPath: string;
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await openssl([
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=ftps-sync test ${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout", key, "-out", cert,
  ]);
  return { cert, key };
}

async function makeClient(dir: string, name: string, ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", key, "-out", csr]);
  await writeFile(ext, "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  await openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext, "-out", cert]);
  return { cert, key };
}

export async function generateClientCerts(dir: string): Promise<ClientCerts> {
  await mkdir(dir, { recursive: true });
  const ca = await makeCa(dir, "client-ca");
  const client = await makeClient(dir, "partner-client", ca);
  const passphrase = "correct horse battery staple";
  const keyPath = join(dir, "partner-client.enc.key");
  await openssl(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", client.key, "-out", keyPath, "-passout", `pass:${passphrase}`]);
  const strangerCa = await makeCa(dir, "stranger-ca");
  const stranger = await makeClient(dir, "stranger", strangerCa);
  return { caPath: ca.cert, certPath: client.cert, keyPath, plainKeyPath: client.key, passphrase, strangerCertPath: stranger.cert, strangerKeyPath: stranger.key };
}
