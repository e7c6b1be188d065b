import { useQuery } from "@connectrpc/connect-query";
import { useMutation } from "@tanstack/react-query";
import { useMemo, useRef, useState } from "react";
import { NodeService, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import { Badge, Empty, ErrorMessage, Loading, Panel, type Tone } from "../../components/status.tsx";
import { pollEvery } from "../../lib/errors.ts";
import { formatDuration, formatTime, timestampDate } from "../../lib/format.ts";
// The same rule as the CLI's `tasks get` (computed from ListNodes, as the scheduler matches).
import { whyQueued } from "@switchboard/common/worker-match";
import { useTransportChoice } from "../../lib/transport-context.tsx";
import { useServerStream } from "../../lib/use-stream.ts";
import { useClient } from "../../lib/use-client.ts";

const stateView: Record<TaskState, { tone: Tone; label: string }> = {
  [TaskState.UNSPECIFIED]: { tone: "muted", label: "unknown" },
  [TaskState.QUEUED]: { tone: "muted", label: "queued" },
  [TaskState.ASSIGNED]: { tone: "info", label: "assigned" },
  [TaskState.RUNNING]: { tone: "info", label: "running" },
  [TaskState.SUCCEEDED]: { tone: "ok", label: "succeeded" },
  [TaskState.FAILED]: { tone: "bad", label: "failed" },
  [TaskState.CANCELLED]: { tone: "warn", label: "cancelled" },
};

/** Tasks shown at most. */
const maxTasks = 50;
/** Task changes remembered from WatchTasks. */
const maxUpdates = 500;

/**
 * The task list: the newest tasks from ListTasks, kept current by WatchTasks
 * (every state change, merged by task id). After a reconnect the list is
 * fetched again, so changes made while disconnected (or hidden) are not missed.
 */
export function Tasks() {
  const { kind } = useTransportChoice();
  const client = useClient(NodeService);
  const list = useQuery(NodeService.method.listTasks, { pageSize: maxTasks });
  // Shares the Workers panel's query (same key): why queued tasks wait.
  const nodes = useQuery(NodeService.method.listNodes, {}, { refetchInterval: pollEvery(2000) });
  const [updates, setUpdates] = useState<Map<string, Task>>(new Map());
  const opens = useRef(0);
  const stream = useServerStream({
    key: list.isError ? null : kind,
    reconnect: true,
    onOpen: () => {
      // Re-opened (reconnect, tab shown again): changes may have been missed.
      if (opens.current++ > 0) void list.refetch();
    },
    open: ({ signal, onHeader }) => client.watchTasks({ sendInitial: true }, { signal, onHeader }),
    onMessage: (res) => {
      const task = res.task;
      if (!task) return; // the snapshot_done marker
      setUpdates((m) => {
        const next = new Map(m);
        next.delete(task.id); // re-insert: the map stays ordered by last change
        next.set(task.id, task);
        // Keep memory bounded on a long-open page: forget the least recently changed.
        for (const id of next.keys()) {
          if (next.size <= maxUpdates) break;
          next.delete(id);
        }
        return next;
      });
    },
  });

  const tasks = useMemo(() => {
    const byId = new Map<string, Task>();
    for (const t of list.data?.tasks ?? []) byId.set(t.id, t);
    for (const [id, t] of updates) {
      const known = byId.get(id);
      // Keep whichever version changed last.
      if (!known || time(t.updatedAt) >= time(known.updatedAt)) byId.set(id, t);
    }
    return [...byId.values()].sort((a, b) => time(b.createdAt) - time(a.createdAt) || b.id.localeCompare(a.id)).slice(0, maxTasks);
  }, [list.data, updates]);

  const cancel = useMutation({
    mutationFn: (taskId: string) =>
      client.cancelTask({ taskId, reason: "cancelled from the web UI" }),
    onSuccess: (res) => {
      const task = res.task;
      if (task) setUpdates((m) => new Map(m).set(task.id, task));
    },
  });

  let body;
  if (list.isPending) body = <Loading />;
  else if (list.isError) body = <ErrorMessage error={list.error} prefix="Cannot list the tasks" />;
  else if (tasks.length === 0) body = <Empty>No tasks yet. Submit one.</Empty>;
  else
    body = (
      <ul className="tasks" aria-label="Tasks">
        {tasks.map((t) => (
          <TaskItem
            key={t.id}
            task={t}
            waiting={t.state === TaskState.QUEUED && nodes.data ? whyQueued(nodes.data.nodes, t.labels) : undefined}
            onCancel={() => cancel.mutate(t.id)}
            cancelling={cancel.isPending && cancel.variables === t.id}
          />
        ))}
      </ul>
    );
  const badge =
    stream.status === "live" ? (
      <Badge tone="ok">Live</Badge>
    ) : stream.status === "reconnecting" ? (
      <Badge tone="warn">Reconnecting…</Badge>
    ) : stream.status === "error" ? (
      <span title={stream.error?.message}>
        <Badge tone="bad">Not live</Badge>
      </span>
    ) : null;
  return (
    <Panel title="Tasks" id="tasks" actions={badge}>
      {stream.status === "error" && !list.isError ? <ErrorMessage error={stream.error} prefix="Live updates stopped" /> : null}
      {cancel.isError ? <ErrorMessage error={cancel.error} prefix={`Could not cancel ${cancel.variables}`} /> : null}
      {body}
    </Panel>
  );
}

function TaskItem({ task: t, waiting, onCancel, cancelling }: { task: Task; waiting?: string; onCancel(): void; cancelling: boolean }) {
  const s = stateView[t.state] ?? stateView[TaskState.UNSPECIFIED];
  const r = t.result;
  const finished = t.state === TaskState.SUCCEEDED || t.state === TaskState.FAILED || t.state === TaskState.CANCELLED;
  const command = [t.command?.program ?? "", ...(t.command?.args ?? [])].map(quoteForDisplay).join(" ");
  return (
    <li className="task" data-testid="task" data-task-id={t.id} data-state={s.label}>
      <div className="task-head">
        <Badge tone={s.tone}>{s.label}</Badge>
        <code className="task-command" title={command}>
          {command}
        </code>
        <span className="muted task-meta">
          <span className="mono">{t.id}</span>
          {t.workerId ? ` · ${t.workerId}` : ""}
          {t.attempt > 1 ? ` · attempt ${t.attempt}` : ""} · {formatTime(t.createdAt)}
        </span>
        {!finished ? (
          <button type="button" className="ghost small" onClick={onCancel} disabled={cancelling} aria-label={`Cancel task ${t.id}`}>
            {cancelling ? "Cancelling…" : "Cancel"}
          </button>
        ) : null}
      </div>
      {t.reason ? <p className="task-reason">{t.reason}</p> : null}
      {waiting ? (
        <p className="task-waiting" data-testid="task-waiting">
          Waiting: {waiting}
        </p>
      ) : null}
      {finished && r ? (
        <div className="task-result">
          <p className="muted">
            exit {r.exitCode}
            {r.signal ? ` (${r.signal})` : ""} · {formatDuration(r.duration)}
          </p>
          {r.stdout ? (
            <pre className="output" aria-label={`Output of ${t.id}`} data-testid="task-stdout">
              {r.stdout}
              {r.stdoutTruncated ? "\n… (truncated)" : ""}
            </pre>
          ) : null}
          {r.stderr ? (
            <pre className="output stderr" aria-label={`Errors of ${t.id}`}>
              {r.stderr}
              {r.stderrTruncated ? "\n… (truncated)" : ""}
            </pre>
          ) : null}
          {!r.stdout && !r.stderr ? <p className="muted">No output.</p> : null}
        </div>
      ) : null}
    </li>
  );
}

function time(ts: Task["createdAt"]): number {
  return timestampDate(ts)?.getTime() ?? 0;
}

/** Quotes an argument for display when it has spaces or quotes (tasks never run through a shell). */
function quoteForDisplay(arg: string): string {
  return arg === "" || /[\s"'\\]/.test(arg) ? JSON.stringify(arg) : arg;
}
