// Installs the Debian packages the local cluster needs when they are missing,
// the way scripts/test.sh does (apt-get, as root or through sudo), and fails
// with one clear message when it cannot.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { findPgBin } from "./postgres.ts";

/** A program the cluster needs and the Debian package that provides it. */
interface Need {
  readonly present: () => boolean;
  readonly pkg: string;
}

const onPath = (prog: string) => spawnSync("sh", ["-c", `command -v ${prog}`], { stdio: "ignore" }).status === 0;

const needs: Need[] = [
  { present: () => onPath("etcd"), pkg: "etcd-server" },
  { present: () => onPath("etcdctl"), pkg: "etcd-client" },
  { present: () => findPgBin() !== undefined, pkg: "postgresql" },
  { present: () => onPath("nats-server") || existsSync("/usr/sbin/nats-server"), pkg: "nats-server" },
];

/** The packages that are missing (empty when everything is installed). */
export function missingPackages(): string[] {
  return needs.filter((n) => !n.present()).map((n) => n.pkg);
}

/** Installs what is missing; throws an Error with a one-line reason when it cannot. */
export function ensurePackages(say: (line: string) => void): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  say(`installing Debian packages: ${missing.join(" ")}`);
  const root = process.getuid?.() === 0;
  if (!root && !onPath("sudo")) throw new Error(`need root or sudo to install ${missing.join(" ")}`);
  if (!onPath("apt-get")) throw new Error(`missing ${missing.join(" ")} and no apt-get to install them: install them yourself`);
  const run = (args: string[]) => {
    const [cmd, ...rest] = root ? args : ["sudo", ...args];
    execFileSync(cmd!, rest, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  };
  try {
    run(["apt-get", "update", "-qq"]);
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing]);
  } catch {
    throw new Error(`could not install ${missing.join(" ")} (apt-get failed; see above)`);
  }
  const still = missingPackages();
  if (still.length) throw new Error(`still missing after apt-get: ${still.join(" ")}`);
}
