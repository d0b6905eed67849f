// One mutant's edits applied to file texts. Each edit's `find` (an exact string or a RegExp) must
// match exactly once in its file: a find that matches nowhere (the code moved or was rewritten) or
// more than once (ambiguous) makes the mutant BROKEN, never a silent pass.

/** The edits of a mutant, each with its file: `edits`, or the mutant's own file/find/replace. */
export function editsOf(mutant) {
  const edits = mutant.edits ?? [{ find: mutant.find, replace: mutant.replace }];
  return edits.map((e) => ({ file: e.file ?? mutant.file, find: e.find, replace: e.replace }));
}

function matchCount(text, find) {
  if (typeof find === "string") return find.length === 0 ? 0 : text.split(find).length - 1;
  const flags = find.flags.includes("g") ? find.flags : find.flags + "g";
  return [...text.matchAll(new RegExp(find.source, flags))].length;
}

/**
 * The mutated texts, by file: `{ ok: true, files: Map<file, text> }`, or `{ ok: false, problem }`.
 * `read(file)` gives a file's current text (undefined when it does not exist).
 */
export function applyMutant(mutant, read) {
  const files = new Map();
  for (const { file, find, replace } of editsOf(mutant)) {
    if (typeof file !== "string" || (typeof find !== "string" && !(find instanceof RegExp)) || typeof replace !== "string") {
      return { ok: false, problem: "needs a file, a find (string or RegExp) and a replace (string)" };
    }
    const text = files.get(file) ?? read(file);
    if (text === undefined) return { ok: false, problem: `${file} does not exist (moved?)` };
    const n = matchCount(text, find);
    if (n !== 1) return { ok: false, problem: `${file}: the text to mutate matches ${n} times, not once (${n === 0 ? "moved or rewritten?" : "make it longer"})` };
    // A string is replaced as it is (no $& patterns); a RegExp's replacement may use $1...
    const next = typeof find === "string" ? text.split(find).join(replace) : text.replace(find, replace);
    if (next === text) return { ok: false, problem: `${file}: the replacement changes nothing` };
    files.set(file, next);
  }
  return { ok: true, files };
}
