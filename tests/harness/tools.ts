import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { repoRoot } from "./server-process.ts";

/** node_modules/.bin of the repository. */
export const binDir = path.join(repoRoot, "node_modules", ".bin");

/** Fails loudly when a system program the tests need is missing. */
export function requireProgram(name: string, hint: string): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`${name} is required for this test (${hint}); scripts/test.sh installs it`);
  }
}

/** Runs `buf` (from @bufbuild/buf) and returns its output; rejects with stderr on failure. */
export function buf(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(path.join(binDir, "buf"), args, { cwd: repoRoot, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
