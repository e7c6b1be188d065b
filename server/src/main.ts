#!/usr/bin/env node
// The server's command line: `npm start -- --port 8080 --data-dir ./data`.
import path from "node:path";
import { defaultServerOptions, parseServerArgs, usage, type ServerOptions } from "./config.ts";
import { repairHint, repairLogTail } from "./log/repair.ts";
import { start } from "./server.ts";

let dataDir = defaultServerOptions.dataDir;

async function main(): Promise<void> {
  let args;
  try {
    args = await parseServerArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  const { help, repairLog, ...options } = args;
  if (help) {
    process.stdout.write(usage);
    return;
  }
  dataDir = options.dataDir ?? dataDir;
  if (repairLog) return repair(options);
  const server = await start(options);
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) {
      server.logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    server.logger.info({ signal }, "signal received");
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.logger.error({ err: (err as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** `--repair-log`: repairs the log's newest segment and exits without serving. */
async function repair(options: Partial<ServerOptions>): Promise<void> {
  const logDir = path.resolve(dataDir, "log");
  const r = await repairLogTail(logDir, options.commitLog);
  const rel = (file: string) => path.relative(path.resolve(dataDir), file);
  if (r === undefined) {
    process.stdout.write(`commit log ${logDir}: the newest segment has no damaged tail; nothing to repair\n`);
    return;
  }
  process.stdout.write(
    `commit log repaired: moved ${r.bytes} bytes (${r.records} record${r.records === 1 ? "" : "s"} by their length fields, ` +
      `from offset ${r.fromOffset}, store position ${r.fromPosition}) from ${rel(r.segment)} to ${rel(r.file)}; ` +
      `every record before offset ${r.fromOffset} is kept\n`,
  );
}

main().catch((err: unknown) => {
  // A damaged log tail: one line naming the repair command, not a stack trace.
  const hint = repairHint(err, dataDir);
  if (hint !== undefined) {
    process.stderr.write(`switchboard-server: ${hint}\n`);
    process.exit(1);
  }
  process.stderr.write(`switchboard-server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
