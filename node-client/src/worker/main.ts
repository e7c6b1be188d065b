#!/usr/bin/env node
// Stand-alone entry of the worker (`node node-client/src/worker/main.ts --server … --allow …`),
// the same command as `switchboard worker`.
import { workerCommand } from "../cli/commands/worker.ts";

workerCommand()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`switchboard worker: ${(err as Error).message}\n`);
    process.exit(1);
  });
