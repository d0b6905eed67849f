import type { Client } from "basic-ftp";
import type { ListEntry } from "./listing-parse.js";
import { parseListKeepingSplitNames } from "./listing-lines.js";

/**
 * A folder (or file) LIST/MLSD through basic-ftp's client, read by our own parser: entries of our
 * type, and a name with a line break comes out whole (and is refused), not cut at the break. Every
 * listing goes through here, whichever listing a pooled connection served before. A bridge: the
 * protocol engine replaces basic-ftp's client.
 */
export async function listEntries(client: Client, path: string): Promise<ListEntry[]> {
  client.parseList = parseListKeepingSplitNames as unknown as Client["parseList"];
  return (await client.list(path)) as unknown as ListEntry[];
}
