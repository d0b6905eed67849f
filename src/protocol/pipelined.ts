import type { FtpsConnection } from "./connect.js";

/**
 * Sends `more` commands right behind the one `start` sends (its task's handler reads every reply),
 * corked so that all leave in one TLS record and one write(2). RFC 959 lets a client send
 * commands before the previous reply; the three servers tested all take it. If a send throws
 * (basic-ftp refuses CR, LF and NUL), the task would wait for replies that never come: the
 * connection is closed (the pool replaces it).
 */
export function pipelined<T>(c: FtpsConnection, start: () => Promise<T>, more: string[]): Promise<T> {
  const ftp = c.client.ftp;
  ftp.socket.cork();
  const done = start();
  try {
    for (const command of more) ftp.send(command);
  } catch (err) {
    done.catch(() => undefined);
    c.close();
    throw err;
  } finally {
    ftp.socket.uncork();
  }
  return done;
}
