// The mutants `npm run mutants` tries (scripts/mutants.mjs): each disables one safety rule that
// README.md's Safety section promises. A mutant is { id, rule, file, find, replace, mutation }:
// `find` (an exact string, or a RegExp) must match exactly once in `file`, else the mutant is
// reported BROKEN; `edits: [{ file?, find, replace }, ...]` instead, for a rule enforced in two
// places. `tests`: test files to run first (with those named after the mutated file), only a
// speed-up: a mutant they do not catch gets the whole fast tier. `pending: "why"` marks a mutant known to survive until a fast test can catch it: it is
// printed PENDING and still fails the run. When code moves, fix `file` and `find` here.
export default [
  // --- deletion guards (src/plan/guards.ts, src/sync/deletion-gate.ts) ---
  {
    id: "max-delete",
    rule: "deletion guard: maxDelete",
    file: "src/plan/guards.ts",
    find: "if (count <= value) return undefined;",
    replace: "return undefined;",
    mutation: "a run may delete more files than maxDelete (count)",
  },
  {
    id: "wiped-source",
    rule: "deletion guard: emptied source",
    file: "src/plan/guards.ts",
    find: "if (trackedFiles === 0) return undefined;",
    replace: "return undefined;",
    mutation: "a side with no files left, that held synced files, may turn into deletions on the other",
  },
  {
    id: "incomplete-listing",
    rule: "deletion guard: incomplete listing",
    file: "src/plan/guards.ts",
    find: "if (!input.remote.complete) {",
    replace: "if (false) {",
    mutation: "deletions kept in the plan when a remote folder could not be listed",
  },
  {
    id: "failed-listing-reply",
    rule: "emptied-listing guard",
    file: "src/protocol/listing-guard.ts",
    find: "return code >= 200 && code < 300 && FAILED_LISTING.test(",
    replace: "return false && FAILED_LISTING.test(",
    mutation: 'an empty listing with "226 ... failed to open directory" taken as an empty folder',
  },
  {
    id: "deletion-gate",
    rule: "deletion gate: no deletions after a failure that may hide a side",
    file: "src/sync/deletion-gate.ts",
    find: "else this.blockedForAll = true;",
    replace: "else this.failedPaths.push(path);",
    mutation: "a connection or unknown failure blocks only deletions near its path, not all",
  },
  // --- temporary name, then rename (src/sync/transfers.ts) ---
  {
    id: "temp-download",
    rule: "temp-then-rename (download)",
    file: "src/sync/transfers.ts",
    find: ": join(dirname(target), tempNameFor(baseName(targetRel)));",
    replace: ": target;",
    mutation: "a download is written straight under its real name",
    tests: ["test/integration/download-verified.test.ts", "test/integration/hostile.test.ts", "test/integration/resume-same-version.test.ts"],
  },
  {
    id: "temp-upload",
    rule: "temp-then-rename (upload)",
    file: "src/sync/transfers.ts",
    find: "remoteJoin(this.remoteAbs(remoteDirRel), tempNameFor(baseName(targetRel)))",
    replace: "remoteJoin(this.remoteAbs(remoteDirRel), baseName(targetRel))",
    mutation: "an upload is written straight under its real name",
    tests: ["test/integration/hostile.test.ts", "test/integration/hostile-names.test.ts", "test/integration/resume-same-version.test.ts"],
  },
  // --- downloads verified before they are published (src/sync/transfers.ts) ---
  {
    id: "verify-changed",
    rule: "download verified before publishing: unchanged on the server",
    file: "src/sync/transfers.ts",
    find: "    // Every byte is in: the file must still be the version it was when the first byte came.\n    if (await this.changedOnServer(",
    replace: "    // Every byte is in: the file must still be the version it was when the first byte came.\n    if (false && await this.changedOnServer(",
    mutation: "a file rewritten on the server during its download is published",
    tests: ["test/integration/download-verified.test.ts", "test/integration/hostile.test.ts", "test/integration/resume-same-version.test.ts"],
  },
  {
    id: "verify-size",
    rule: "download verified before publishing: size",
    file: "src/sync/transfers.ts",
    find: "if (got !== remote.size) {",
    replace: "if (false) {",
    mutation: "a download shorter than the listed size is published",
    tests: ["test/integration/download-verified.test.ts", "test/integration/hostile.test.ts", "test/integration/resume-same-version.test.ts"],
  },
  // --- never plaintext (src/protocol/connect.ts) ---
  {
    id: "tls-before-user",
    rule: "no plaintext before USER",
    file: "src/protocol/connect.ts",
    // The reply to a refused AUTH TLS, whatever the error class it is thrown as.
    find: /(if \(err instanceof FTPError\) \{\n)(\s*throw new \w+\(\n\s*`\$\{remote\.name\}: the server refused AUTH TLS)/,
    replace: "$1await client.login(remote.user, remote.password.reveal()).catch(() => undefined);\n$2",
    mutation: "on a refused AUTH TLS, USER and PASS are sent in plaintext before giving up",
    tests: ["test/unit/connect-refusals.test.ts", "test/integration/hostile.test.ts"],
  },
  {
    id: "prot-p",
    rule: "PROT P enforced",
    file: "src/protocol/connect.ts",
    find: "if (!is2xx(prot.code)) {",
    replace: "if (false) {",
    mutation: "a refused PBSZ/PROT P is ignored and data connections may be clear",
    tests: ["test/unit/connect-refusals.test.ts", "test/integration/data-protection.test.ts"],
  },
  {
    id: "cert-verify",
    rule: "certificate verified (no pin)",
    edits: [
      { file: "src/protocol/tls-options.ts", find: "rejectUnauthorized: !remote.fingerprint,", replace: "rejectUnauthorized: false," },
      { file: "src/protocol/connect.ts", find: "} else if (!socket.authorized) {", replace: "} else if (!socket.authorized && remote.port < 0) {" },
    ],
    mutation: "an untrusted certificate accepted without a pin",
    tests: ["test/integration/hostile.test.ts"],
  },
  {
    id: "pin",
    rule: "pinned certificate checked",
    file: "src/protocol/tls-options.ts",
    find: "if (got !== expected) throw pinMismatch(expected, got, what);",
    replace: "if (false) throw pinMismatch(expected, got, what);",
    mutation: "a certificate that does not match the pin accepted",
    tests: ["test/unit/pin.test.ts", "test/integration/hostile.test.ts", "test/integration/hangs.test.ts"],
  },
  // --- hostile names (src/plan/names.ts) ---
  {
    id: "name-dot-segment",
    rule: "hostile names: . and ..",
    file: "src/plan/names.ts",
    find: 'if (name === "." || name === "..") return `"${name}" segment`;',
    replace: "",
    mutation: 'a listed name ".." or "." accepted',
    tests: ["test/integration/hostile.test.ts"],
  },
  {
    id: "name-controls",
    rule: "hostile names: control and bidi characters",
    file: "src/plan/names.ts",
    find: "const bad = UNSAFE_CHAR.exec(name)?.[0];",
    replace: "const bad = undefined as string | undefined;",
    mutation: "names with ESC, LF, DEL, C1 or U+202E accepted",
    tests: ["test/integration/hostile-names.test.ts"],
  },
  {
    id: "inside-job-folder",
    rule: "hostile names: never a path outside the job folder",
    file: "src/plan/names.ts",
    find: 'if (rel === "" || rel.startsWith(".." + sep) || rel === ".." || isAbsolute(rel)) {',
    replace: "if (false) {",
    mutation: "localPathInside accepts ../ and absolute paths",
    tests: ["test/integration/hostile.test.ts"],
  },
  // --- redaction (src/redact.ts) ---
  {
    id: "redact",
    rule: "redaction",
    file: "src/redact.ts",
    find: "  for (const { form, pattern } of forms) if (out.includes(form)) out = out.replace(pattern, REDACTED);\n",
    replace: "",
    mutation: "redact() returns the text unchanged",
    tests: ["test/integration/echoed-secret.test.ts"],
  },
  {
    id: "redact-json",
    rule: "redaction: JSON-escaped form",
    file: "src/redact.ts",
    find: "new Set([value, JSON.stringify(value).slice(1, -1)])",
    replace: "new Set([value])",
    mutation: "a password with a quote or backslash leaks JSON-escaped (sync --json, /healthz)",
    tests: ["test/integration/echoed-secret.test.ts"],
  },
  // --- delete = "tracked" (src/plan/diff.ts) ---
  {
    id: "tracked-one-way",
    rule: "tracked deletes (one-way)",
    file: "src/plan/diff.ts",
    find: "if (placed && !tgtChanged) return deleteOn(",
    replace: "if (!tgtChanged) return deleteOn(",
    mutation: "delete=tracked deletes target files this job did not put there",
  },
  {
    id: "tracked-two-way",
    rule: "tracked deletes (two-way)",
    file: "src/plan/diff.ts",
    find: 'if (ctx.policy.delete === "tracked" && !(present === "local" ? c.s.placedLocal : c.s.placedRemote)) {',
    replace: "if (false) {",
    mutation: "two-way delete=tracked deletes copies this job did not put there",
  },
  // --- resumed transfers continue only the same version (src/sync/transfers.ts) ---
  {
    id: "resume-download",
    rule: "partial-resume check (download)",
    file: "src/sync/transfers.ts",
    find: "partial.sourceSize === remote.size && partial.sourceMtime === exactBefore &&",
    replace: "partial.sourceSize === remote.size &&",
    mutation: "a partial download resumed after the server's file changed (same size, new time)",
    tests: ["test/integration/resume-same-version.test.ts"],
  },
  {
    id: "resume-upload",
    rule: "partial-resume check (upload)",
    file: "src/sync/transfers.ts",
    find: "partial?.sourceMtime !== undefined && sameLocalVersion(before, { size: partial.sourceSize, mtimeMs: partial.sourceMtime }) &&",
    replace: "partial !== undefined && partial.sourceSize === before.size &&",
    mutation: "a partial upload resumed after the local file changed (same size, new time)",
    tests: ["test/integration/resume-same-version.test.ts"],
  },
  // --- the agent's own files (src/plan/own-paths.ts, src/local/own-files.ts) ---
  {
    id: "own-files-path",
    rule: "agent's own files excluded (by path)",
    file: "src/plan/own-paths.ts",
    find: "if (exact.has(path)) return true;",
    replace: "",
    mutation: "the state database, config, job and password files inside a job folder are synced",
    tests: ["test/unit/own-files.test.ts", "test/unit/scan.test.ts"],
  },
  {
    id: "own-files-inode",
    rule: "agent's own files excluded (by inode)",
    file: "src/plan/own-paths.ts",
    find: "return devs !== undefined && devs.includes(st.dev);",
    replace: "return false;",
    mutation: "a hard link to an own file, under another name, is synced",
    tests: ["test/unit/own-files.test.ts", "test/unit/scan.test.ts"],
  },
  // --- local access a symlink cannot redirect (src/local/safe-open.ts) ---
  {
    id: "symlink-out",
    rule: "no symlink out of the job folder",
    edits: [
      { file: "src/local/safe-open.ts", find: "if (!this.opts.followSymlinks) throw new UnsafeLocalPath(", replace: "if (false) throw new UnsafeLocalPath(" },
      { file: "src/local/safe-open.ts", find: 'if (rel === ".." || rel.startsWith(".." + sep) || rel.startsWith(sep)) {', replace: "if (false) {" },
    ],
    mutation: "a symlink is followed, even out of the job folder",
  },
];
