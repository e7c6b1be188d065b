// Value parsers of the server flags; each throws an Error naming the flag.
import { fileURLToPath } from "node:url";

/** The services a process can host (`--services`). */
export const serviceNames = ["order", "log", "node"] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Repository root, for defaults that point into the checkout. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export function parseNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got "${text}"`);
  return n;
}

/** A non-negative integer of at least `min`; `what` ends the error ("must be positive", "must be at least 2"). */
export function atLeast(min: number, what = min === 1 ? "must be positive" : `must be at least ${min}`) {
  return (text: string, flag: string): number => {
    const n = parseNumber(text, flag);
    if (n < min) throw new Error(`${flag} ${what}`);
    return n;
  };
}

export function parseServices(list: string): ServiceName[] {
  const names = list.split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(serviceNames as readonly string[]).includes(n)) {
      throw new Error(`--services: unknown service "${n}" (known: ${serviceNames.join(", ")})`);
    }
  }
  if (names.length === 0) throw new Error("--services: name at least one service");
  return names as ServiceName[];
}

/** Comma-separated URLs; blank → undefined (off). */
export function urlList(pattern: RegExp, example: string) {
  return (list: string, flag: string): string[] | undefined => {
    if (list.trim() === "") return undefined;
    const urls = list.split(",").map((s) => s.trim()).filter(Boolean);
    for (const u of urls) {
      // A user:password in a bad URL is not echoed.
      if (!pattern.test(u)) throw new Error(`${flag}: "${u.replace(/\/\/[^@/]*@/, "//***@")}" is not a URL like ${example}`);
    }
    return urls;
  };
}

export function parseHostPort(value: string, flag: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`${flag} must be host:port, got "${value}"`);
  return value;
}
