// The worker library: `startWorker(options)` runs tasks from a Switchboard master.
export { startWorker, workerVersion } from "./worker.ts";
export type { RunningWorker } from "./worker.ts";
export { workerDefaults } from "./options.ts";
export type { WorkerEvent, WorkerOptions } from "./options.ts";
export { parseAllowList, refusal, resolveProgram } from "./allowlist.ts";
export type { AllowList } from "./allowlist.ts";
export { childEnv, parseEnvPairs, safePath } from "./child-env.ts";
export { Backoff, backoffDelay } from "@switchboard/common/backoff";
export type { BackoffOptions } from "@switchboard/common/backoff";
export { runProcess } from "./run-process.ts";
export type { RunOutcome, RunSpec } from "./run-process.ts";
