/** The PATH a task gets when the worker does not pass its own environment. */
export const safePath = "/usr/local/bin:/usr/bin:/bin";

/** How the worker builds a task's environment. */
export interface EnvOptions {
  /** Pass the worker's own environment (`--inherit-env`). Default false. */
  inheritEnv?: boolean;
  /** Variables to set (`--env K=V`), applied last. */
  env?: Readonly<Record<string, string>>;
}

/**
 * A task's environment. By default nothing of the worker's environment (no
 * tokens, no credentials) reaches the task: only PATH (the fixed safePath),
 * HOME and TMPDIR (the task's own directory) and SWITCHBOARD_TASK_ID /
 * SWITCHBOARD_TASK_ATTEMPT (delivery is at-least-once: a task can use them to
 * be idempotent). `inheritEnv` starts from the worker's environment instead.
 */
export function childEnv(
  options: EnvOptions,
  task: { id: string; attempt: number; dir: string },
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const base: Record<string, string> = {};
  if (options.inheritEnv) {
    for (const [k, v] of Object.entries(parentEnv)) if (v !== undefined) base[k] = v;
  } else {
    base.PATH = safePath;
    base.HOME = task.dir;
    base.TMPDIR = task.dir;
  }
  base.SWITCHBOARD_TASK_ID = task.id;
  base.SWITCHBOARD_TASK_ATTEMPT = String(task.attempt);
  return { ...base, ...options.env };
}

/** Parses `K=V` strings (`--env`). */
export function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new Error(`expected KEY=VALUE, got "${p}"`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}
