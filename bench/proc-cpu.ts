// CPU time of the processes a bench started, from /proc (Linux), for the
// "where the time goes" columns of bench/cluster.ts and bench/log-backends.ts:
// what the server, the database or NATS, and the bench's own client spent
// per call, next to the calls' wall time.
import fs from "node:fs";

const clockTicks = 100; // USER_HZ: 100 on every Linux the benches run on (getconf CLK_TCK)

interface Stat {
  comm: string;
  ppid: number;
  /** utime + stime + cutime + cstime (reaped children included), seconds. */
  cpu: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
  const close = text.lastIndexOf(")");
  const f = text.slice(close + 2).split(" ");
  return {
    comm: text.slice(text.indexOf("(") + 1, close),
    ppid: Number(f[1]),
    cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks,
  };
}

/** CPU seconds of one process (and its reaped children). */
export function processCpu(pid: number): number {
  return stat(pid)?.cpu ?? 0;
}

/**
 * CPU seconds of every live process named `comm` (e.g. "postgres",
 * "nats-server") that descends from this process — PostgreSQL's postmaster
 * and its backends (which put themselves in their own process groups) and
 * the NATS servers the test harnesses start. The postmaster's reaped
 * children count through its cutime/cstime.
 */
export function descendantCpu(comm: string): number {
  const stats = new Map<number, Stat>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(Number(d));
    if (s !== undefined) stats.set(Number(d), s);
  }
  const descends = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid, hops = 0; p !== undefined && p > 1 && hops < 64; p = stats.get(p)?.ppid, hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  let cpu = 0;
  for (const [pid, s] of stats) if (s.comm === comm && descends(pid)) cpu += s.cpu;
  return cpu;
}

/** This process's own CPU seconds (the bench's client). */
export function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds spent by each named source between `start()` and the returned function's call. */
export function cpuMeter(sources: Record<string, () => number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
  return () => Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f() - before[k]!]));
}
