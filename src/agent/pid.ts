/**
 * Is a process with this pid alive on this machine? `kill(pid, 0)` sends nothing; EPERM means
 * it exists but belongs to another user (still alive).
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
