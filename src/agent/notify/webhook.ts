/** One POST of a notification to a webhook, bounded in time; a reply other than 2xx is a failure. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";

/** Where a webhook is, for logs: scheme, host and port; its path and query may hold a token. */
export function webhookOrigin(url: string): string {
  return new URL(url).origin;
}

export function postWebhook(url: string, body: string, opts: { timeoutMs: number; ca?: string }): Promise<void> {
  const target = new URL(url);
  const https = target.protocol === "https:";
  return new Promise<void>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      target,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "user-agent": "ftps-sync" },
        // Certificates are verified (Node's default); an extra CA is trusted beside the system's.
        ...(https && opts.ca && { ca: [...rootCertificates, opts.ca] }),
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve();
          else reject(new Error(`the webhook answered HTTP ${code}`));
        });
        res.on("error", reject);
      },
    );
    // The whole exchange, not an idle time: a receiver that trickles bytes still ends in time.
    const timer = setTimeout(() => req.destroy(new Error(`no answer from the webhook within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on("error", reject);
    req.on("close", () => clearTimeout(timer));
    req.end(body);
  });
}
