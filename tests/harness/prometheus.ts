import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./etcd.ts";
import { eventually } from "./eventually.ts";
import { requireProgram } from "./tools.ts";

/** A throwaway Prometheus (Debian's `prometheus`) on loopback, with temporary storage. */
export interface PrometheusProcess {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** An instant query through the HTTP API: the result vector. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Stops it (by PID) and removes its storage. */
  cleanup(): Promise<void>;
}

/**
 * Starts Prometheus scraping `target` ("127.0.0.1:PORT", path /metrics) as job
 * "switchboard" every second, and waits until it is ready.
 */
export async function startPrometheus(target: string, opts: { bearerToken?: string } = {}): Promise<PrometheusProcess> {
  const bin = requireProgram("prometheus", "Debian package prometheus");
  const dir = mkdtempSync(path.join(tmpdir(), "switchboard-prometheus-"));
  const port = await freePort();
  const auth = opts.bearerToken ? `    authorization:\n      credentials_file: ${path.join(dir, "token")}\n` : "";
  if (opts.bearerToken) writeFileSync(path.join(dir, "token"), opts.bearerToken, { mode: 0o600 });
  writeFileSync(
    path.join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: switchboard\n    static_configs:\n      - targets: ["${target}"]\n${auth}`,
  );
  let stderr = "";
  const child = spawn(
    bin,
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr!.on("data", (d) => (stderr = (stderr + String(d)).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
      },
      30_000,
      "prometheus ready",
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query: promql }),
      });
      const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: [] } };
      if (body.status !== "success") throw new Error(`query ${promql} failed: ${body.error}`);
      return body.data!.result;
    },
    cleanup,
  };
}
