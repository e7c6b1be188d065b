import { create } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { SubmitTaskResponseSchema, TaskSchema, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import { examples, withCli } from "../action.ts";
import type { Cli } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import {
  durationFromMs,
  formatCommand,
  formatDetails,
  formatDuration,
  formatLabels,
  formatTable,
  formatTime,
  isFinal,
  taskStateName,
} from "../format.ts";
import { Progress } from "../progress.ts";
import { matchWorkers, whyQueued } from "@switchboard/common/worker-match";
import { ownFlags, refuseMisplacedOptions } from "../misplaced-options.ts";
import { collect, collectLabel, parseDurationMs, parsePositiveInt, parseTaskState } from "../parse.ts";

/** `switchboard tasks …`: the task side of node.v1.NodeService. */
export function tasksCommand(): Command {
  const tasks = new Command("tasks")
    .description("submit, inspect, watch and cancel tasks run by workers (node.v1.NodeService)")
    .enablePositionalOptions()
    .addHelpText(
      "after",
      examples(
        "switchboard tasks submit --wait echo hello",
        "switchboard tasks submit --timeout 30s --label gpu=yes -- python3 train.py --epochs 3",
        "switchboard tasks list --state running",
        "switchboard tasks watch",
        "switchboard tasks cancel 01J…",
      ),
    );

  const submit = tasks
    .command("submit")
    .description("queue a task: PROGRAM with ARGS, run by a worker without a shell (SubmitTask)")
    .argument("<program>", "program name on the worker's PATH (it must be in the worker's --allow list) or an absolute path")
    .argument("[args...]", "arguments, passed as they are")
    .addOption(new Option("--timeout <duration>", "the task's time limit, e.g. 30s or 2m (default: the worker's)").argParser(parseDurationMs))
    .addOption(new Option("--label <key=value>", "a label the worker must have (repeatable)").argParser(collectLabel))
    .option("--wait", "wait for the task to finish and print its output; exit 3 unless it SUCCEEDED")
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nOptions go before PROGRAM: everything after PROGRAM is passed to it. An argument after\n" +
        "PROGRAM that is one of switchboard's own options is refused unless -- comes before PROGRAM\n" +
        "(switchboard tasks submit -- PROGRAM --its-option). The call deadline (--timeout of the CLI) goes\n" +
        "before the command name: `switchboard --timeout 5s tasks submit …`. Needs --token when the\n" +
        "server has an auth token.\n" +
        examples(
          "switchboard tasks submit echo hello",
          "switchboard tasks submit --wait --timeout 10s uname -a",
          "switchboard --token $TOKEN tasks submit --label zone=eu -- ls -la /tmp",
        ),
    )
    .action(
      withCli(async (cli, program: string, args: string[], opts: { timeout?: number; label?: Record<string, string>; wait?: boolean }) => {
        let root: Command = submit;
        while (root.parent) root = root.parent;
        // commander keeps the parsed command line in rawArgs (not in its typings).
        const raw = (root as unknown as { rawArgs: string[] }).rawArgs;
        refuseMisplacedOptions(program, args, ownFlags(submit), raw);
        const client = cli.clients().nodes;
        const res = await client.submitTask(
          {
            command: { program, args },
            timeout: opts.timeout === undefined ? undefined : durationFromMs(opts.timeout),
            labels: opts.label ?? {},
          },
          cli.call(),
        );
        await warnIfNoWorkerMatches(cli, opts.label ?? {});
        if (!opts.wait) {
          if (cli.json) cli.outJson(SubmitTaskResponseSchema, res);
          else cli.out(`submitted task ${res.taskId}\n`);
          return;
        }
        if (!cli.json) cli.note(`submitted task ${res.taskId}; waiting for it to finish (Ctrl-C stops waiting, the task keeps running)`);
        const task = await waitWithProgress(cli, res.taskId);
        reportFinished(cli, task);
      }),
    );

  tasks
    .command("get")
    .description("show one task (GetTask)")
    .argument("<id>", "task id")
    .addHelpText("after", examples("switchboard tasks get 01J…", "switchboard tasks get 01J… --json | jq .result.stdout"))
    .action(
      withCli(async (cli, id: string) => {
        const res = await cli.clients().nodes.getTask({ taskId: id }, cli.call());
        const task = res.task ?? create(TaskSchema);
        if (cli.json) {
          cli.outJson(TaskSchema, task);
          return;
        }
        let waiting: string | undefined;
        if (task.state === TaskState.QUEUED) {
          const nodes = (await cli.clients().nodes.listNodes({}, cli.call())).nodes;
          waiting = whyQueued(nodes, task.labels) ?? "a matching worker has a free slot: about to be assigned";
        }
        cli.out(taskDetails(task, waiting));
      }),
    );

  tasks
    .command("list")
    .description("list tasks, newest first (ListTasks)")
    .addOption(new Option("--state <state>", "only tasks in this state: queued, assigned, running, succeeded, failed, cancelled (repeatable)").argParser(collect(parseTaskState)))
    .option("--worker <id>", "only tasks last assigned to this worker")
    .addOption(new Option("--limit <n>", "tasks per page (server default 100, at most 1000)").argParser(parsePositiveInt))
    .option("--page-token <token>", "continue from a previous page")
    .option("--all", "follow the page tokens and list every task")
    .addHelpText("after", examples("switchboard tasks list", "switchboard tasks list --state queued --state running", "switchboard tasks list --all --json"))
    .action(
      withCli(async (cli, opts: { state?: TaskState[]; worker?: string; limit?: number; pageToken?: string; all?: boolean }) => {
        const rows: string[][] = [];
        let pageToken = opts.pageToken ?? "";
        for (;;) {
          const res = await cli.clients().nodes.listTasks(
            { states: opts.state ?? [], workerId: opts.worker ?? "", pageSize: opts.limit ?? 0, pageToken },
            cli.call(),
          );
          for (const t of res.tasks) {
            if (cli.json) cli.outJson(TaskSchema, t);
            else rows.push(taskRow(t));
          }
          pageToken = res.nextPageToken;
          if (!opts.all || pageToken === "") break;
        }
        if (!cli.json) {
          cli.out(rows.length ? formatTable(taskHeaders, rows) : "no tasks\n");
          if (pageToken !== "") cli.note(`more tasks: --page-token ${pageToken} (or --all)`);
        }
      }),
    );

  tasks
    .command("watch")
    .description("print task state changes as they happen (WatchTasks) until Ctrl-C; with ID, until that task finishes")
    .argument("[id]", "watch only this task")
    .option("--initial", "first print the current state (of the unfinished tasks, or of task ID)")
    .addHelpText(
      "after",
      "\nOutput: TIME  TASK  STATE  WORKER  ATTEMPT  COMMAND per change (one Task JSON per line with --json).\n" +
        "Watching one task exits 0 when it SUCCEEDED and 3 when it FAILED or was CANCELLED.\n" +
        examples("switchboard tasks watch", "switchboard tasks watch --initial --json", "switchboard tasks watch 01J… --initial"),
    )
    .action(
      withCli(async (cli, id: string | undefined, opts: { initial?: boolean }) => {
        let lastTask: Task | undefined;
        for await (const res of cli.clients().nodes.watchTasks({ taskId: id ?? "", sendInitial: opts.initial ?? false }, cli.openCall())) {
          if (!res.task) continue; // the end-of-snapshot marker
          lastTask = res.task;
          if (cli.json) cli.outJson(TaskSchema, res.task);
          else cli.out(watchLine(res.task));
        }
        if (id !== undefined && lastTask && isFinal(lastTask.state) && lastTask.state !== TaskState.SUCCEEDED) cli.exitCode = ExitCode.negative;
      }),
    );

  tasks
    .command("cancel")
    .description("cancel a queued, assigned or running task (CancelTask)")
    .argument("<id>", "task id")
    .option("--reason <text>", "recorded on the task")
    .addHelpText("after", examples("switchboard tasks cancel 01J…", "switchboard --token $TOKEN tasks cancel 01J… --reason 'wrong input'"))
    .action(
      withCli(async (cli, id: string, opts: { reason?: string }) => {
        const res = await cli.clients().nodes.cancelTask({ taskId: id, reason: opts.reason ?? "" }, cli.call());
        const task = res.task ?? create(TaskSchema, { id });
        if (cli.json) cli.outJson(TaskSchema, task);
        else cli.out(`task ${task.id}: ${taskStateName(task.state)}${task.reason ? ` (${task.reason})` : ""}\n`);
      }),
    );
  return tasks;
}

/**
 * SubmitTask queues a task even when no connected worker could run it; say so
 * at once (stderr), with the label sets of the connected workers. A failing
 * ListNodes never fails the submit.
 */
async function warnIfNoWorkerMatches(cli: Cli, labels: Record<string, string>): Promise<void> {
  let nodes;
  try {
    nodes = (await cli.clients().nodes.listNodes({}, cli.call())).nodes;
  } catch {
    return;
  }
  const m = matchWorkers(nodes, labels);
  if (m.matching.length > 0) return;
  const why = whyQueued(nodes, labels)!;
  cli.note(`warning: ${why.replace(/^no connected worker has/, "no connected worker currently has")}. The task stays queued until a matching worker connects (or cancel it).`);
}

/**
 * `tasks submit --wait` on a terminal: a progress line on stderr with the
 * task's state, its worker and the time waited, redrawn every second and
 * cleared when the task finishes (nothing when piped or with --json).
 */
async function waitWithProgress(cli: Cli, taskId: string): Promise<Task> {
  const progress = new Progress(cli, undefined, { keep: false });
  if (!progress.enabled) return waitForTask(cli, taskId);
  const since = Date.now();
  let state = "queued";
  const draw = () => progress.update(`task ${taskId}: ${state}, ${Math.round((Date.now() - since) / 1000)}s`, true);
  const timer = setInterval(draw, 1000);
  draw();
  try {
    return await waitForTask(cli, taskId, (t) => {
      const where = t.workerId ? ` on ${t.workerId}` : "";
      state =
        t.state === TaskState.QUEUED
          ? `queued, waiting for a matching worker${t.attempt > 0 ? ` (re-queued: ${t.reason})` : ""}`
          : t.state === TaskState.ASSIGNED
            ? `assigned${where}`
            : `${taskStateName(t.state).toLowerCase()}${where}${t.attempt > 1 ? `, attempt ${t.attempt}` : ""}`;
      draw();
    });
  } finally {
    clearInterval(timer);
    progress.done();
  }
}

/** Watches one task until its final state; resolves with the final task. `onChange` sees every state. */
export async function waitForTask(cli: Cli, taskId: string, onChange?: (task: Task) => void): Promise<Task> {
  let last: Task | undefined;
  for await (const res of cli.clients().nodes.watchTasks({ taskId, sendInitial: true }, cli.openCall())) {
    if (!res.task) continue;
    last = res.task;
    onChange?.(res.task);
    if (isFinal(res.task.state)) return res.task;
  }
  if (last && isFinal(last.state)) return last;
  throw new Error(`the watch of task ${taskId} ended before the task finished`);
}

/** Prints a finished task's output (stdout to stdout, stderr to stderr) and sets exit code 3 unless it succeeded. */
function reportFinished(cli: Cli, task: Task): void {
  if (task.state !== TaskState.SUCCEEDED) cli.exitCode = ExitCode.negative;
  if (cli.json) {
    cli.outJson(TaskSchema, task);
    return;
  }
  const r = task.result;
  if (r?.stdout) cli.out(r.stdout);
  if (r?.stderr) cli.runtime.stderr.write(r.stderr);
  const exit = r ? (r.signal ? `signal ${r.signal}` : `exit ${r.exitCode}`) : "no result";
  cli.note(
    `task ${task.id} ${taskStateName(task.state)} (${exit}, ${formatDuration(r?.duration)}${task.workerId ? `, worker ${task.workerId}` : ""})` +
      (task.reason ? `: ${task.reason}` : "") +
      (r?.stdoutTruncated || r?.stderrTruncated ? " [output truncated]" : ""),
  );
}

const taskHeaders = ["ID", "STATE", "WORKER", "ATTEMPT", "CREATED", "COMMAND"];

function taskRow(t: Task): string[] {
  return [t.id, taskStateName(t.state), t.workerId || "-", String(t.attempt), formatTime(t.createdAt), formatCommand(t)];
}

function watchLine(t: Task): string {
  const parts = [formatTime(t.updatedAt), t.id, taskStateName(t.state), t.workerId || "-", String(t.attempt), formatCommand(t)];
  return parts.join("  ") + (t.reason ? `  (${t.reason})` : "") + "\n";
}

function taskDetails(t: Task, waiting?: string): string {
  const r = t.result;
  const pairs: Array<[string, string]> = [
    ["id", t.id],
    ["state", taskStateName(t.state)],
    ...(waiting === undefined ? [] : [["waiting", waiting] as [string, string]]),
    ["command", formatCommand(t)],
    ["labels", formatLabels(t.labels)],
    ["timeout", t.timeout ? formatDuration(t.timeout) : "worker default"],
    ["worker", t.workerId || "-"],
    ["attempt", String(t.attempt)],
    ["reason", t.reason || "-"],
    ["created", formatTime(t.createdAt)],
    ["started", formatTime(t.startedAt)],
    ["finished", formatTime(t.finishedAt)],
  ];
  if (r) {
    pairs.push(["exit code", r.signal ? `${r.exitCode} (signal ${r.signal})` : String(r.exitCode)]);
    pairs.push(["duration", formatDuration(r.duration)]);
    pairs.push(["stdout", oneBlock(r.stdout, r.stdoutTruncated)]);
    pairs.push(["stderr", oneBlock(r.stderr, r.stderrTruncated)]);
  }
  return formatDetails(pairs);
}

function oneBlock(text: string, truncated: boolean): string {
  if (text === "") return "-";
  const t = text.endsWith("\n") ? text.slice(0, -1) : text;
  return (t.includes("\n") ? "\n  " + t.replaceAll("\n", "\n  ") : t) + (truncated ? " [truncated]" : "");
}

