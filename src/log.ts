import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, extname, join } from "node:path";
import winston from "winston";
import type DailyRotateFile from "winston-daily-rotate-file";
import TransportStream from "winston-transport";
import { redact, redactDeep } from "./redact.js";

export type Logger = winston.Logger;
export type LogLevel = "error" | "warn" | "info" | "debug";

// The redactor lives in src/redact.ts; re-exported for the modules that log.
export { redact, registerSecret } from "./redact.js";

/**
 * A message on one line: a server's multi-line reply (or a stray CR) would break a log line in
 * two, and a reader (journald, grep, a JSON-lines consumer) would take the rest for a new entry.
 */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+$/, "").replace(/\r\n|\r|\n/g, " | ");
}

/** Every string of a log entry, nested ones included, before any transport formats it; the message on one line. */
const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const v = (info as Record<string, unknown>)[key];
    (info as Record<string, unknown>)[key] = redactDeep(v);
  }
  if (typeof info.message === "string") info.message = oneLine(info.message);
  return info;
});

/**
 * The human line: time, level, message, then the ad-hoc fields (job=...). The run id and the data
 * of the per-file and summary lines (`event` set: their message says it all) are for JSON lines.
 */
const consoleLine = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
  const extra = Object.entries(rest)
    .filter(([k]) => typeof k === "string" && k !== "runId" && (!rest.event || k === "job"))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return redact(`${String(timestamp)} ${String(level).padEnd(5)} ${String(message)}${extra ? " " + extra : ""}`);
});

/**
 * A transport made on the first line that reaches it. Setting up the rotating file (its audit
 * file, stream and date formatting) took about 10 ms of every CLI start, and a quiet run (-q)
 * that has nothing to warn about writes no line at all.
 */
class OpenedOnFirstLine extends TransportStream {
  private inner?: TransportStream;
  constructor(
    private readonly open: () => TransportStream,
    opts: TransportStream.TransportStreamOptions,
  ) {
    super(opts);
  }
  override log(info: unknown, next: () => void): void {
    this.inner ??= this.open();
    this.inner.log!(info, next);
  }
  override close(): void {
    this.inner?.close?.();
  }
}

/**
 * winston-daily-rotate-file, loaded with the log file's first line: its modules (object-hash,
 * file-stream-rotator, moment) took about 15 ms of every CLI start, before `sync` could connect.
 * In the CLI bundle this require() is the bundle's own (esbuild bundles the module and runs it at
 * this call); tsc's ES module output (tests, library use) has no require, and takes it from
 * node_modules.
 */
function dailyRotateFile(): typeof DailyRotateFile {
  return typeof require === "function" ? require("winston-daily-rotate-file") : createRequire(import.meta.url)("winston-daily-rotate-file");
}

export type LogFormat = "text" | "json";

export interface LoggerOptions {
  level?: LogLevel;
  file?: string;
  /** Lines on the console: human-readable on stderr (stdout is kept for command output), or JSON lines on stdout. */
  console?: boolean;
  /** "json": one JSON object a line on stdout (journald, containers); "text" (default): human lines on stderr. */
  format?: LogFormat;
  /** JSON lines on stderr instead: a command printing its own JSON object (--json) keeps stdout to that one object. */
  jsonOnStderr?: boolean;
  /**
   * Whether the human console shows the per-file and run summary lines (`event` set). The CLI
   * prints its own progress and summary, so it leaves them to the log file and JSON lines.
   */
  consoleRunLines?: boolean;
  /** Where the console's lines go (tests): process.stdout and process.stderr by default. */
  streams?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

/** Drops the per-file and summary lines (see consoleRunLines). */
const withoutRunLines = winston.format((info) => ((info as Record<string, unknown>).event ? false : info));

/** The console: JSON lines on stdout, or human lines on stderr. */
function consoleTransport(opts: LoggerOptions): winston.transport {
  const { stdout, stderr } = opts.streams ?? process;
  if (opts.format === "json") {
    return new winston.transports.Stream({ stream: opts.jsonOnStderr ? stderr : stdout, eol: "\n", format: winston.format.combine(winston.format.timestamp(), winston.format.json()) });
  }
  const human = winston.format.combine(winston.format.timestamp({ format: "HH:mm:ss" }), consoleLine);
  return new winston.transports.Stream({
    stream: stderr,
    eol: "\n",
    format: opts.consoleRunLines === false ? winston.format.combine(withoutRunLines(), human) : human,
  });
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const transports: winston.transport[] = [];
  if (opts.console !== false) transports.push(consoleTransport(opts));
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    // Rotated daily (and at 50 MB), 14 days kept: "agent.log" is written as agent-YYYY-MM-DD.log
    // beside it, so a long-running agent never fills the disk.
    const ext = extname(opts.file);
    const base = basename(opts.file, ext);
    const file = opts.file;
    transports.push(
      new OpenedOnFirstLine(
        () =>
          new (dailyRotateFile())({
            dirname: dirname(file),
            filename: `${base}-%DATE%${ext}`,
            datePattern: "YYYY-MM-DD",
            maxSize: "50m",
            maxFiles: "14d",
            auditFile: join(dirname(file), `.${base}-audit.json`),
          }),
        { format: winston.format.combine(winston.format.timestamp(), winston.format.json()) },
      ),
    );
  }
  return droppingBelowLevel(
    winston.createLogger({
      level: opts.level ?? "info",
      format: redactFormat(),
      transports: transports.length ? transports : [new winston.transports.Console({ silent: true })],
    }),
  );
}

/**
 * Makes the level methods (info, debug...) drop an entry that no transport takes before winston
 * builds it: winston formats each entry (the redaction included) and pipes it to every transport,
 * each of which then drops it by its level. With -q (warn) that was every file's info line, about
 * 40 us of CPU each for nothing. Checked at each call: a level changed later still counts. Only
 * this logger's own class is changed (createLogger makes one per logger); children share it.
 */
function droppingBelowLevel(logger: Logger): Logger {
  const proto = Object.getPrototypeOf(logger) as Record<string, unknown>;
  for (const level of Object.keys(logger.levels)) {
    const write = proto[level];
    if (typeof write !== "function") continue;
    proto[level] = function (this: Logger | undefined, ...args: unknown[]) {
      const self = this ?? logger;
      return self.isLevelEnabled(level) ? write.apply(self, args) : self;
    };
  }
  return logger;
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
}
