/**
 * Listing lines and what they hold, for the listing parsers' table test (listing-parse.test.ts;
 * the expected values agree with what basic-ftp 6, the client before ours, read). "captured" lines come
 * from the real servers (captured-listings.ts); the others are written the way those servers
 * (pyftpdlib, IIS, busybox, FileZilla Server, `ls`) write them.
 */

export interface Expected {
  name: string;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  rawModifiedAt: string;
  link?: string;
  /** MLSD: the modify fact as UTC milliseconds */
  modifyMs?: number;
  /** Unix permissions as three digits, "644" */
  mode?: string;
}

export interface LineFixture {
  what: string;
  format: "unix" | "dos" | "mlsd";
  line: string;
  /** undefined: no entry ("." and "..", cdir and pdir) */
  expected: Expected | undefined;
}

const T = Date.UTC(2026, 11, 5, 19, 45, 27);
const PRO = ";unique=FE00U20C0FD;UNIX.group=0;UNIX.groupname=ftpsynctest;UNIX.mode=0644;UNIX.owner=1001;UNIX.ownername=ftpsynctest;";
const PURE = ";UNIX.mode=0644;UNIX.uid=1001;UNIX.gid=0;unique=fe00g20c115;";
const file = (name: string, size: number, rawModifiedAt: string, more: Partial<Expected> = {}): Expected => ({ name, type: "file", size, rawModifiedAt, ...more });
const dir = (name: string, size: number, rawModifiedAt: string, more: Partial<Expected> = {}): Expected => ({ name, type: "dir", size, rawModifiedAt, ...more });
const link = (name: string, to: string | undefined, size: number, rawModifiedAt: string, more: Partial<Expected> = {}): Expected => ({ name, type: "symlink", size, rawModifiedAt, link: to, ...more });

export const LINE_FIXTURES: LineFixture[] = [
  // vsftpd 3.0.3 (captured): numeric owner and group, "Dec 05" with a zero
  { what: "vsftpd: a file", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45 with space.txt", expected: file("with space.txt", 5, "Dec 05 19:45", { mode: "644" }) },
  { what: "vsftpd: a name with a leading space", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45  leading space.txt", expected: file(" leading space.txt", 5, "Dec 05 19:45") },
  { what: "vsftpd: a name with a trailing space", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45 trailing space ", expected: file("trailing space ", 5, "Dec 05 19:45") },
  { what: "vsftpd: a file named with ' -> ' is not split", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45 a -> b.txt", expected: file("a -> b.txt", 5, "Dec 05 19:45") },
  { what: "vsftpd: a size past 2^32", format: "unix", line: "-rw-r--r--    1 1001     0        21474836487 Dec 05 19:45 big.bin", expected: file("big.bin", 21474836487, "Dec 05 19:45") },
  { what: "vsftpd: unicode", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45 caf\u00e9 \u65e5\u672c.txt", expected: file("caf\u00e9 \u65e5\u672c.txt", 5, "Dec 05 19:45") },
  { what: "vsftpd: an emoji", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45 emoji \u{1f600}.png", expected: file("emoji \u{1f600}.png", 5, "Dec 05 19:45") },
  { what: "vsftpd: ';' in a name", format: "unix", line: "-rw-r--r--    1 1001     0               5 Dec 05 19:45 semi;colon.txt", expected: file("semi;colon.txt", 5, "Dec 05 19:45") },
  { what: "vsftpd: an older file has its year", format: "unix", line: "-rw-r--r--    1 1001     0               5 Mar 03  2019 plain.txt", expected: file("plain.txt", 5, "Mar 03 2019") },
  { what: "vsftpd: a folder with a space", format: "unix", line: "drwxr-xr-x    2 1001     0            4096 Dec 05 19:45 sub dir", expected: dir("sub dir", 4096, "Dec 05 19:45", { mode: "755" }) },
  { what: "vsftpd: a link to a folder", format: "unix", line: "lrwxrwxrwx    1 1001     0               7 Dec 05 19:45 dirlink -> sub dir", expected: link("dirlink", "sub dir", 7, "Dec 05 19:45", { mode: "777" }) },
  { what: "vsftpd: a character device", format: "unix", line: "crw-r--r--    1 1001     0               0 Dec 05 19:45 nulldev", expected: file("nulldev", 0, "Dec 05 19:45") },
  { what: "vsftpd: the folder itself", format: "unix", line: "drwxr-xr-x    3 1001     0            4096 Dec 05 19:45 .", expected: undefined },
  { what: "vsftpd: the parent", format: "unix", line: "drwxr-xr-x    3 1001     1001         4096 Dec 05 19:45 ..", expected: undefined },
  // ProFTPD 1.3.8 (captured): owner names, "Dec  5"; its STAT reply indents each line by one space
  { what: "ProFTPD: a file", format: "unix", line: "-rw-r--r--   1 ftpsynctest 0               5 Dec  5 19:45 with space.txt", expected: file("with space.txt", 5, "Dec  5 19:45") },
  { what: "ProFTPD: a leading space", format: "unix", line: "-rw-r--r--   1 ftpsynctest 0               5 Dec  5 19:45  leading space.txt", expected: file(" leading space.txt", 5, "Dec  5 19:45") },
  { what: "ProFTPD: a year", format: "unix", line: "-rw-r--r--   1 ftpsynctest 0               5 Mar  3  2019 plain.txt", expected: file("plain.txt", 5, "Mar  3 2019") },
  { what: "ProFTPD: a link to a file", format: "unix", line: "lrwxrwxrwx   1 ftpsynctest 0               9 Dec  5 19:45 link -> plain.txt", expected: link("link", "plain.txt", 9, "Dec  5 19:45") },
  { what: "ProFTPD: the parent, owner and group names", format: "unix", line: "drwxr-xr-x   3 ftpsynctest ftpsynctest     4096 Dec  5 19:45 ..", expected: undefined },
  { what: "ProFTPD STAT: an indented line", format: "unix", line: " -rw-r--r--   1 ftpsynctest 0        21474836487 Dec  5 19:45 big.bin", expected: file("big.bin", 21474836487, "Dec  5 19:45") },
  { what: "ProFTPD STAT: an indented folder", format: "unix", line: " drwxr-xr-x   2 ftpsynctest 0            4096 Dec  5 19:45 sub dir", expected: dir("sub dir", 4096, "Dec  5 19:45") },
  // Pure-FTPd 1.0.50 (captured): wide columns, a group name cut to 10 characters
  { what: "Pure-FTPd: a size past 2^32", format: "unix", line: "-rw-r--r--    1 1001       0                 21474836487 Dec  5 19:45 big.bin", expected: file("big.bin", 21474836487, "Dec  5 19:45") },
  { what: "Pure-FTPd: a link", format: "unix", line: "lrwxrwxrwx    1 1001       0                   9 Dec  5 19:45 link -> plain.txt", expected: link("link", "plain.txt", 9, "Dec  5 19:45") },
  { what: "Pure-FTPd: the parent", format: "unix", line: "drwxr-xr-x    3 1001       ftpsynctes       4096 Dec  5 19:45 ..", expected: undefined },
  // pyftpdlib 1.5.7, busybox ftpd, FileZilla Server, `ls`
  { what: "pyftpdlib: a file", format: "unix", line: "-rw-r--r--   1 ftpsynctest ftpsynctest        5 Dec 05 19:45 plain.txt", expected: file("plain.txt", 5, "Dec 05 19:45") },
  { what: "busybox: a file", format: "unix", line: "-rw-r--r--    1 0        0               5 Dec  5 19:45 plain.txt", expected: file("plain.txt", 5, "Dec  5 19:45") },
  { what: "busybox: a character device's 'major, minor' reads as its major number", format: "unix", line: "crw-rw-rw-    1 0        0          1,   3 Dec  5 19:45 null", expected: file("null", 1, "Dec  5 19:45", { mode: "666" }) },
  { what: "busybox: a block device", format: "unix", line: "brw-rw----    1 0        6          8,   0 Dec  5 19:45 sda", expected: file("sda", 8, "Dec  5 19:45", { mode: "660" }) },
  { what: "FileZilla Server: one space between columns", format: "unix", line: "-rw-r--r-- 1 ftp ftp              5 Dec 05 19:45 plain.txt", expected: file("plain.txt", 5, "Dec 05 19:45") },
  { what: "Windows: owner and group with spaces", format: "unix", line: "-rw-r--r--   1 John Doe Domain Users        5 Dec 05 19:45 plain.txt", expected: file("plain.txt", 5, "Dec 05 19:45") },
  { what: "ls -i: an inode number first", format: "unix", line: "  1234567 -rw-r--r--   1 user group 5 Dec  5 19:45 inode.txt", expected: file("inode.txt", 5, "Dec  5 19:45") },
  { what: "an ACL mark after the permissions", format: "unix", line: "-rw-r--r--+  1 user group 5 Dec  5 19:45 acl.txt", expected: file("acl.txt", 5, "Dec  5 19:45") },
  { what: "a sticky folder", format: "unix", line: "drwxrwxrwt   2 0 0 4096 Dec  5 19:45 tmp", expected: dir("tmp", 4096, "Dec  5 19:45", { mode: "777" }) },
  { what: "setuid without execute", format: "unix", line: "-rwSr--r--   1 user group 5 Dec  5 19:45 suid.txt", expected: file("suid.txt", 5, "Dec  5 19:45", { mode: "644" }) },
  { what: "a named pipe is no file", format: "unix", line: "prw-r--r--   1 user group 0 Dec  5 19:45 fifo", expected: { name: "fifo", type: "other", size: 0, rawModifiedAt: "Dec  5 19:45" } },
  { what: "a socket is no file", format: "unix", line: "srwxrwxrwx   1 user group 0 Dec  5 19:45 sock", expected: { name: "sock", type: "other", size: 0, rawModifiedAt: "Dec  5 19:45" } },
  { what: "an ISO date", format: "unix", line: "-rw-r--r--   1 user group 5 2026-12-05 19:45 iso.txt", expected: file("iso.txt", 5, "2026-12-05 19:45") },
  { what: "a Japanese date", format: "unix", line: "-rw-r--r--   1 user group 5 12\u6708  5\u65e5 19:45 ja.txt", expected: file("ja.txt", 5, "12\u6708  5\u65e5 19:45") },
  { what: "a link whose target holds ' -> ': the first one splits", format: "unix", line: "lrwxrwxrwx   1 user group 9 Dec  5 19:45 a -> b -> c", expected: link("a", "b -> c", 9, "Dec  5 19:45") },
  { what: "a link named with two leading spaces", format: "unix", line: "lrwxrwxrwx   1 user group 9 Dec  5 19:45   two -> t", expected: link("  two", "t", 9, "Dec  5 19:45") },
  { what: "a size at 2^53", format: "unix", line: "-rw-r--r--   1 user group 9007199254740992 Dec  5 19:45 huge", expected: file("huge", 2 ** 53, "Dec  5 19:45") },
  { what: "'total' is no entry", format: "unix", line: "total 48", expected: undefined },
  // IIS and other Windows servers
  { what: "IIS: a file, 12-hour time", format: "dos", line: "12-05-26  07:45PM                    5 plain.txt", expected: file("plain.txt", 5, "12-05-26 07:45PM") },
  { what: "IIS: a folder with a space", format: "dos", line: "12-05-26  07:45PM       <DIR>          sub dir", expected: dir("sub dir", 0, "12-05-26 07:45PM") },
  { what: "IIS: a four-digit year, 24-hour time, past 2^32", format: "dos", line: "12-05-2026  19:45               21474836487 big.bin", expected: file("big.bin", 21474836487, "12-05-2026 19:45") },
  { what: "IIS: ' -> ' and unicode in a name", format: "dos", line: "12-05-26  07:45AM                    5 caf\u00e9 -> \u65e5\u672c.txt", expected: file("caf\u00e9 -> \u65e5\u672c.txt", 5, "12-05-26 07:45AM") },
  { what: "IIS: a trailing space stays", format: "dos", line: "12-05-26  07:45AM                    5 trailing ", expected: file("trailing ", 5, "12-05-26 07:45AM") },
  { what: "IIS: the folder itself", format: "dos", line: "12-05-26  07:45PM       <DIR>          .", expected: undefined },
  // ProFTPD MLSD (captured)
  { what: "ProFTPD MLSD: a file with a leading space", format: "mlsd", line: `modify=20261205194527;size=5;type=file${PRO}  leading space.txt`, expected: file(" leading space.txt", 5, "2026-12-05T19:45:27.000Z", { modifyMs: T, mode: "644" }) },
  { what: "ProFTPD MLSD: ';' in a name", format: "mlsd", line: `modify=20261205194527;size=5;type=file${PRO} semi;colon.txt`, expected: file("semi;colon.txt", 5, "2026-12-05T19:45:27.000Z", { modifyMs: T }) },
  { what: "ProFTPD MLSD: ' -> ' in a file's name", format: "mlsd", line: `modify=20261205194527;size=5;type=file${PRO} a -> b.txt`, expected: file("a -> b.txt", 5, "2026-12-05T19:45:27.000Z", { modifyMs: T }) },
  { what: "ProFTPD MLSD: a size past 2^32", format: "mlsd", line: `modify=20261205194527;size=21474836487;type=file${PRO} big.bin`, expected: file("big.bin", 21474836487, "2026-12-05T19:45:27.000Z", { modifyMs: T }) },
  { what: "ProFTPD MLSD: a folder without a size", format: "mlsd", line: `modify=20261205194527;type=dir${PRO} sub dir`, expected: dir("sub dir", 0, "2026-12-05T19:45:27.000Z", { modifyMs: T }) },
  { what: "ProFTPD MLSD: a link, its target in another line", format: "mlsd", line: "modify=20261205194527;size=7;type=OS.unix=symlink;unique=FE00U20C0FA;UNIX.mode=0777; dirlink", expected: link("dirlink", undefined, 7, "2026-12-05T19:45:27.000Z", { modifyMs: T, mode: "777" }) },
  { what: "ProFTPD MLSD: the folder itself", format: "mlsd", line: `modify=20261205194527;type=cdir${PRO} .`, expected: undefined },
  { what: "ProFTPD MLSD: the parent", format: "mlsd", line: `modify=20261205194527;type=pdir${PRO} ..`, expected: undefined },
  { what: "ProFTPD MLST: a path as the name", format: "mlsd", line: `modify=20190303102030;size=5;type=file${PRO} /fx/plain.txt`, expected: file("/fx/plain.txt", 5, "2019-03-03T10:20:30.000Z", { modifyMs: Date.UTC(2019, 2, 3, 10, 20, 30) }) },
  // Pure-FTPd MLSD (captured)
  { what: "Pure-FTPd MLSD: a file", format: "mlsd", line: `type=file;size=5;modify=20261205194528${PURE} with space.txt`, expected: file("with space.txt", 5, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000, mode: "644" }) },
  { what: "Pure-FTPd MLSD: a folder's sizd", format: "mlsd", line: `type=dir;sizd=4096;modify=20261205194528${PURE} sub dir`, expected: dir("sub dir", 4096, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000 }) },
  { what: "Pure-FTPd MLSD: a link as 'slink:' without target", format: "mlsd", line: "type=OS.unix=slink:;size=9;modify=20261205194528;UNIX.mode=0777;UNIX.uid=1001;UNIX.gid=0;unique=fe00g20c11c; link", expected: link("link", "", 9, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000 }) },
  { what: "Pure-FTPd MLSD: a device is of unknown type", format: "mlsd", line: `type=unknown;size=0;modify=20261205194528${PURE} nulldev`, expected: { name: "nulldev", type: "other", size: 0, rawModifiedAt: "2026-12-05T19:45:28.000Z", modifyMs: T + 1000 } },
  { what: "Pure-FTPd MLSD: the folder itself", format: "mlsd", line: `type=cdir;sizd=4096;modify=20261205194528${PURE} .`, expected: undefined },
  // pyftpdlib, IIS and others
  { what: "pyftpdlib MLSD: lower-case unix facts, a perm fact", format: "mlsd", line: "type=file;size=5;perm=radfwMT;modify=20261205194528;unix.mode=0640;unix.uid=1001;unix.gid=1001;unique=803g1a2b; plain.txt", expected: file("plain.txt", 5, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000, mode: "640" }) },
  { what: "pyftpdlib MLSD: a folder with a size", format: "mlsd", line: "type=dir;size=4096;perm=elradfmwMT;modify=20261205194528;unix.mode=0755;unix.uid=1001;unix.gid=1001;unique=803g1a2c; sub dir", expected: dir("sub dir", 4096, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000 }) },
  { what: "MLSD: milliseconds", format: "mlsd", line: "size=5;modify=20261205194528.123;type=file; ms.txt", expected: file("ms.txt", 5, "2026-12-05T19:45:28.123Z", { modifyMs: T + 1123 }) },
  { what: "MLSD: digits past milliseconds are dropped", format: "mlsd", line: "size=5;modify=20261205194528.123456;type=file; us.txt", expected: file("us.txt", 5, "2026-12-05T19:45:28.123Z", { modifyMs: T + 1123 }) },
  // basic-ftp's reading, kept (the state holds times read this way): the digits are milliseconds.
  { what: "MLSD: one digit after the dot is that many milliseconds", format: "mlsd", line: "size=5;modify=20261205194528.5;type=file; tenth.txt", expected: file("tenth.txt", 5, "2026-12-05T19:45:28.005Z", { modifyMs: T + 1005 }) },
  { what: "MLSD: fact names in any case", format: "mlsd", line: "Type=file;Size=5;Modify=20261205194528; caps.txt", expected: file("caps.txt", 5, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000 }) },
  { what: "MLSD: a link with its target (RFC 3659's example)", format: "mlsd", line: "type=OS.unix=slink:/etc/hosts;size=10;modify=20261205194528; hosts", expected: link("hosts", "/etc/hosts", 10, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000 }) },
  { what: "MLSD: a name with two spaces inside and unicode", format: "mlsd", line: "type=file;size=5;modify=20261205194528; caf\u00e9  \u{1f600}.txt", expected: file("caf\u00e9  \u{1f600}.txt", 5, "2026-12-05T19:45:28.000Z", { modifyMs: T + 1000 }) },
  { what: "MLSD: no facts at all (a line that starts with its one space)", format: "mlsd", line: " bare", expected: { name: "bare", type: "other", size: 0, rawModifiedAt: "" } },
];
