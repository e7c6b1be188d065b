#!/usr/bin/env node
// The server's command line: `npm start -- --port 8080 --data-dir ./data`.
import { parseServerArgs, usage } from "./config.ts";
import { start } from "./server.ts";
import { BindError } from "./http/bind-error.ts";

async function main(): Promise<void> {
  let args;
  try {
    args = await parseServerArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  const { help, ...options } = args;
  if (help) {
    process.stdout.write(usage);
    return;
  }
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

main().catch((err: unknown) => {
  if (err instanceof BindError) {
    // A busy port is the user's to fix, not a crash: one line, no stack.
    process.stderr.write(`switchboard-server: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`switchboard-server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
