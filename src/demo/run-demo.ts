/**
 * `ftps-sync demo`: a real FTPS sync in one command, with nothing to set up.
 *
 * Starts the embedded FTPS server (src/demo/ftps-server.ts) on 127.0.0.1 with a certificate made
 * on the spot, writes a scratch workspace (agent.config.json pinning that certificate, two jobs,
 * sample files, the password in a 0600 file), and drives the agent's own commands in this
 * process: fingerprint, check, sync, plan, sync, download sync. Then it compares the trees by
 * SHA-256 and says how to explore the workspace. The password reaches the agent through an
 * environment variable of this process, never through argv.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fetchServerCertificate } from "../protocol/fetch-fingerprint.js";
import { checkCommand } from "../cli/commands/check.js";
import { syncCommand } from "../cli/commands/sync.js";
import { loadApp, type AppContext } from "../cli/context.js";
import { humanBytes, humanDuration } from "../cli/format.js";
import { makeSelfSignedCertificate } from "./cert.js";
import { startDemoServer, type DemoServer } from "./ftps-server.js";

export const DEMO_PASSWORD_ENV = "FTPS_SYNC_DEMO_PASSWORD";
export const DEMO_REMOTE = "demo";
export const UPLOAD_JOB = "upload-docs";
export const DOWNLOAD_JOB = "download-docs";

export interface DemoOptions {
  /** Workspace folder (created; must be empty if it exists). Default: a new folder under os.tmpdir(). */
  workspace?: string;
  /** Keep the server running after the demo, until Ctrl-C, so that plan and sync can be tried. */
  serve?: boolean;
  /** Size of the large sample file, in bytes (shows a progress bar on a terminal). Default 24 MiB. */
  bigFileBytes?: number;
  out?: (text: string) => void;
}

export interface DemoResult {
  ok: boolean;
  workspace: string;
  configPath: string;
  /** Relative path -> SHA-256, for docs/, the server's copy and docs-copy/. */
  trees: { local: Map<string, string>; server: Map<string, string>; downloaded: Map<string, string> };
}

const SAMPLE: Record<string, string> = {
  "README.txt": "These files were made by `ftps-sync demo`.\nEdit them, then run the plan and sync commands it printed.\n",
  "notes/meeting 2024-05-01.md": "# Meeting\n\n- ship the FTPS agent\n- pin the partner's certificate\n",
  "notes/todo.md": "- [ ] read the README\n- [ ] point ftps-sync at my own server\n",
  "reports/q1.csv": "month,revenue\njan,100\nfeb,120\nmar,130\n",
  "reports/q2.csv": "month,revenue\napr,140\nmay,150\njun,170\n",
  "café/menu – été.txt": "Unicode names travel as UTF-8.\n",
  "old/draft-to-delete.txt": "This file is deleted locally in step 5; the sync deletes the server's copy.\n",
};

/** Every file under `root` -> SHA-256 of its bytes (streamed). */
export async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(abs);
      if (st.isDirectory()) await walk(abs, r);
      else if (st.isFile()) {
        const hash = createHash("sha256");
        for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
        out.set(r.normalize("NFC"), hash.digest("hex"));
      }
    }
  };
  await walk(root, "");
  return out;
}

function sameTree(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** One digest for a whole tree: SHA-256 over "path\0hash\n" lines in path order. */
function treeDigest(t: Map<string, string>): string {
  const h = createHash("sha256");
  for (const [k, v] of [...t].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`${k}\0${v}\n`);
  return h.digest("hex").slice(0, 16);
}

function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, rel);
    mkdirSync(join(abs, ".."), { recursive: true });
    writeFileSync(abs, content);
  }
}

function prepareWorkspace(dir: string | undefined): string {
  if (!dir) return mkdtempSync(join(tmpdir(), "ftps-sync-demo-"));
  const abs = resolve(dir);
  if (existsSync(abs) && readdirSync(abs).length > 0) {
    throw new Error(`the demo workspace ${abs} is not empty; give a new or empty folder`);
  }
  mkdirSync(abs, { recursive: true });
  return abs;
}

/** How to start this CLI from a shell, for the closing instructions. */
function cliInvocation(): string {
  const main = fileURLToPath(new URL("../bin/ftps-sync.js", import.meta.url));
  const rel = relative(process.cwd(), main);
  return `node ${rel.startsWith("..") ? main : rel}`;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const out = opts.out ?? ((t: string) => void process.stdout.write(t));
  const say = (...lines: string[]) => out(lines.join("\n") + "\n");
  const started = Date.now();

  const ws = prepareWorkspace(opts.workspace);
  const configPath = join(ws, "agent.config.json");
  const docs = join(ws, "docs");
  const copy = join(ws, "docs-copy");
  const serverRoot = join(ws, "server", "root");
  const passwordFile = join(ws, "demo-password");
  for (const d of [docs, copy, serverRoot, join(ws, "jobs")]) mkdirSync(d, { recursive: true });

  say("ftps-sync demo: a real FTPS sync against a server started for you on 127.0.0.1", "");

  // --- 1. certificate and server ----------------------------------------------------------------
  const cert = makeSelfSignedCertificate(["127.0.0.1", "localhost"], 7);
  writeFileSync(join(ws, "server", "cert.pem"), cert.certPem);
  writeFileSync(join(ws, "server", "key.pem"), cert.keyPem, { mode: 0o600 });
  const password = randomBytes(18).toString("base64url");
  writeFileSync(passwordFile, password + "\n", { mode: 0o600 });

  let server: DemoServer | undefined;
  let app: AppContext | undefined;
  const previousEnv = process.env[DEMO_PASSWORD_ENV];
  try {
    server = await startDemoServer({ root: serverRoot, user: "demo", password, cert: cert.certPem, key: cert.keyPem });
    const target = `${server.host}:${server.port}`;
    say(
      `1. Started an FTPS server on ${target}: explicit TLS (AUTH TLS), protected data connections (PROT P)`,
      `   that must resume the control connection's TLS session, serving ${serverRoot}.`,
      `   Its certificate is self-signed, made just now: no system would trust it, so the config pins it.`,
      "",
    );

    // --- 2. pinning workflow ------------------------------------------------------------------
    const seen = await fetchServerCertificate(server.host, server.port, false);
    say(
      `2. First contact: read the server's certificate without trusting it (no password is sent)`,
      `   $ ftps-sync fingerprint ${target}`,
      `   ${seen.fingerprint}`,
      `   trusted by the system store: ${seen.trustedBySystem ? "yes" : "no"}; ` +
        `${seen.fingerprint === cert.fingerprint ? "matches the certificate the server was given (checked out of band)" : "DOES NOT MATCH the certificate the server was given"}`,
      "",
    );
    if (seen.fingerprint !== cert.fingerprint) throw new Error("the fingerprint seen on the wire differs from the server's certificate");

    // --- 3. workspace --------------------------------------------------------------------------
    const config = {
      stateDir: "./state",
      jobsDir: "./jobs",
      log: { level: "info", file: "./logs/agent.log" },
      remotes: {
        [DEMO_REMOTE]: {
          host: server.host,
          port: server.port,
          tls: "explicit",
          user: "demo",
          password: { env: DEMO_PASSWORD_ENV },
          fingerprint: cert.fingerprint,
          maxConnections: 3,
        },
      },
    };
    // Schedules only matter to the agent (`ftps-sync run`); the demo starts each sync itself.
    const uploadJob = {
      remote: DEMO_REMOTE, remotePath: "/docs", local: "./docs", direction: "upload",
      schedule: "0 2 * * *", delete: "tracked", exclude: ["**/*.tmp"],
    };
    const downloadJob = { remote: DEMO_REMOTE, remotePath: "/docs", local: "./docs-copy", direction: "download", schedule: "30 2 * * *", delete: "tracked" };
    writeFileSync(configPath, JSON.stringify(config, null, 2) + "\n");
    writeFileSync(join(ws, "jobs", `${UPLOAD_JOB}.json`), JSON.stringify(uploadJob, null, 2) + "\n");
    writeFileSync(join(ws, "jobs", `${DOWNLOAD_JOB}.json`), JSON.stringify(downloadJob, null, 2) + "\n");
    const big = opts.bigFileBytes ?? 24 * 1024 * 1024;
    writeFiles(docs, { ...SAMPLE, "data/measurements.bin": randomBytes(big) });
    const sampleBytes = Object.values(SAMPLE).reduce((n, s) => n + Buffer.byteLength(s), 0) + big;
    say(
      `3. Wrote a workspace in ${ws}`,
      `   agent.config.json   the remote "${DEMO_REMOTE}", its pinned fingerprint, password from $${DEMO_PASSWORD_ENV}`,
      `   demo-password       the password (mode 0600); this process passes it to the agent in $${DEMO_PASSWORD_ENV}`,
      `   jobs/${UPLOAD_JOB}.json    docs/ -> /docs (upload, nightly at 02:00, delete: "tracked")`,
      `   jobs/${DOWNLOAD_JOB}.json  /docs -> docs-copy/ (download, nightly at 02:30)`,
      `   docs/               ${Object.keys(SAMPLE).length + 1} sample files, ${humanBytes(sampleBytes)}`,
      "",
      ...indent(JSON.stringify(config.remotes[DEMO_REMOTE], null, 2)),
      "",
    );

    // The agent reads the password from the environment, as it would in production.
    process.env[DEMO_PASSWORD_ENV] = password;
    app = loadApp({ config: configPath, quiet: true });
    const a = app;
    const step = async (title: string, command: string, run: () => Promise<number>) => {
      say(title, `   $ ftps-sync ${command}`);
      const code = await run();
      say("");
      if (code !== 0) throw new Error(`"ftps-sync ${command}" ended with exit code ${code}`);
    };

    // --- 4..7. the agent's own commands -----------------------------------------------------
    await step("4. Connect, prove TLS, the pin and a protected data channel", "check", () => checkCommand(a, []));
    await step("5. First upload", `sync ${UPLOAD_JOB}`, () => syncCommand(a, UPLOAD_JOB, {}));

    writeFiles(docs, {
      "notes/todo.md": "- [x] read the README\n- [ ] point ftps-sync at my own server\n- [ ] schedule the job\n",
      "reports/q2.csv": "month,revenue\napr,140\nmay,155\njun,171\njul,180\n",
      "reports/q3.csv": "month,revenue\njul,180\naug,185\nsep,190\n",
    });
    rmSync(join(docs, "old"), { recursive: true });
    say("6. Edited notes/todo.md and reports/q2.csv, added reports/q3.csv, deleted old/draft-to-delete.txt", "");
    await step("   What would the next sync do? (changes nothing)", `plan ${UPLOAD_JOB}`, () => syncCommand(a, UPLOAD_JOB, { dryRun: true }));
    await step("   Carry it out", `sync ${UPLOAD_JOB}`, () => syncCommand(a, UPLOAD_JOB, {}));
    await step("7. Download the server's copy into a second folder", `sync ${DOWNLOAD_JOB}`, () => syncCommand(a, DOWNLOAD_JOB, {}));

    // --- 8. compare ----------------------------------------------------------------------------
    const trees = { local: await hashTree(docs), server: await hashTree(join(serverRoot, "docs")), downloaded: await hashTree(copy) };
    const ok = sameTree(trees.local, trees.server) && sameTree(trees.local, trees.downloaded);
    say(
      `8. Compare SHA-256 of every file`,
      `   docs/             ${trees.local.size} files, tree digest ${treeDigest(trees.local)}`,
      `   server /docs      ${trees.server.size} files, tree digest ${treeDigest(trees.server)}`,
      `   docs-copy/        ${trees.downloaded.size} files, tree digest ${treeDigest(trees.downloaded)}`,
      ok ? "   result: identical" : "   result: DIFFERENT",
    );
    if (!ok) {
      for (const [k, v] of trees.local) if (trees.downloaded.get(k) !== v) say(`   differs: ${k}`);
      for (const k of trees.downloaded.keys()) if (!trees.local.has(k)) say(`   only in docs-copy: ${k}`);
    }
    const cli = cliInvocation();
    say(
      "",
      `Done in ${humanDuration(Date.now() - started)}: ${server.stats.dataConnections} protected data connections, ` +
        `${server.stats.resumedDataSessions} of them resuming the control session.`,
      "",
      `The workspace stays in ${ws} (delete it when done). To explore it:`,
      `  export ${DEMO_PASSWORD_ENV}="$(cat ${passwordFile})"`,
      `  ${cli} --config ${configPath} status`,
      `  ${cli} --config ${configPath} history`,
      `  ${cli} --config ${configPath} plan ${UPLOAD_JOB}     # needs the server: npm run demo -- --serve`,
      `  cat ${join(ws, "jobs", `${UPLOAD_JOB}.json`)}`,
      "",
      `Point it at your own server:`,
      `  ${cli} init --dir ./my-agent --host ftp.example.com --user me --password-env MY_FTP_PASSWORD \\`,
      `      --local ./outbox --remote-path /incoming --direction upload --schedule "0 2 * * *"`,
      `  (see README.md: configuration reference and connecting to common servers)`,
    );

    if (opts.serve && ok) await serveUntilStopped(server, configPath, say);
    return { ok, workspace: ws, configPath, trees };
  } finally {
    app?.close();
    await server?.stop();
    if (previousEnv === undefined) delete process.env[DEMO_PASSWORD_ENV];
    else process.env[DEMO_PASSWORD_ENV] = previousEnv;
  }
}

function indent(text: string): string[] {
  return text.split("\n").map((l) => `   ${l}`);
}

async function serveUntilStopped(server: DemoServer, configPath: string, say: (...l: string[]) => void): Promise<void> {
  say(
    "",
    `The demo server keeps running on ${server.host}:${server.port} for plan and sync with --config ${configPath}.`,
    `Press Ctrl-C to stop it.`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolveStop();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  say("stopping the demo server");
}
