/**
 * Sends notifications in the background: each channel (webhook, command) of the job's "notify"
 * that listens to the event, with a timeout per attempt and retries with backoff. Never throws,
 * never holds up its caller: a run is recorded before anything is sent, and a notification that
 * cannot be delivered is logged and counted, nothing more.
 */
import type { JobConfig, NotifyConfig } from "../../config/types.js";
import type { Logger } from "../../log.js";
import { redact, redactDeep } from "../../redact.js";
import { runNotifyCommand } from "./command.js";
import { notificationEnv, type Notification } from "./payload.js";
import { postWebhook, webhookOrigin } from "./webhook.js";

export type NotifyChannel = "webhook" | "command";
export type NotifyOutcome = "delivered" | "retried" | "failed";

export interface NotifierOptions {
  logger: Logger;
  /** Each attempt's outcome (the agent counts them in /metrics). */
  onOutcome?: (o: { job: string; event: string; channel: NotifyChannel; outcome: NotifyOutcome }) => void;
  /** The wait before attempt `n + 1` after `n` failed; default 1 s, 2 s, 4 s … at most 30 s. */
  backoffMs?: (attempt: number) => number;
}

const defaultBackoff = (attempt: number) => Math.min(30_000, 1000 * 2 ** (attempt - 1));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: NotifierOptions) {}

  /** Starts delivering `n` to the job's channels that listen to its event; returns at once. */
  send(job: JobConfig, n: Notification): void {
    const config = job.notify;
    if (!config || !config.on.includes(n.event)) return;
    // Errors quote servers' replies, which may repeat a password.
    const clean = redactDeep(n);
    const body = JSON.stringify(clean);
    if (config.webhook) {
      const url = config.webhook;
      this.track(this.deliver(job.name, n.event, "webhook", `webhook ${webhookOrigin(url)}`, config, () => postWebhook(url, body, { timeoutMs: config.timeoutMs, ca: config.ca })));
    }
    if (config.command) {
      const argv = config.command;
      const env = notificationEnv(clean);
      this.track(this.deliver(job.name, n.event, "command", `command ${argv[0]}`, config, () => runNotifyCommand(argv, env, body + "\n", config.timeoutMs)));
    }
  }

  /** Deliveries not yet ended. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Waits for the deliveries under way, at most `maxMs`. Resolves with how many are still going on. */
  async settle(maxMs: number): Promise<number> {
    if (this.pending.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise<void>((r) => (timer = setTimeout(r, maxMs)))]);
    clearTimeout(timer);
    return this.pending.size;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(job: string, event: string, channel: NotifyChannel, to: string, config: NotifyConfig, attempt: () => Promise<void>): Promise<void> {
    const { logger, onOutcome } = this.opts;
    const backoff = this.opts.backoffMs ?? defaultBackoff;
    for (let n = 1; ; n++) {
      try {
        await attempt();
        logger.info(`notification "${event}" delivered to ${to}${n > 1 ? ` (attempt ${n})` : ""}`, { job });
        onOutcome?.({ job, event, channel, outcome: "delivered" });
        return;
      } catch (err) {
        const why = redact((err as Error).message);
        if (n >= config.attempts) {
          logger.warn(`notification "${event}" not delivered to ${to} after ${n} attempt(s): ${why}`, { job });
          onOutcome?.({ job, event, channel, outcome: "failed" });
          return;
        }
        const wait = backoff(n);
        logger.warn(`notification "${event}" to ${to} failed (attempt ${n} of ${config.attempts}): ${why}; again in ${wait} ms`, { job });
        onOutcome?.({ job, event, channel, outcome: "retried" });
        await sleep(wait);
      }
    }
  }
}
