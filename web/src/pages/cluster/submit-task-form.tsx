import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { NodeService } from "@switchboard/gen/node/v1/node_pb.js";
import { Panel } from "../../components/status.tsx";
import { describeError, violationsOf } from "../../lib/errors.ts";
import { FormActions, type FormResult } from "../../components/form-actions.tsx";
import { useTransportChoice } from "../../lib/transport-context.tsx";
import { useClient } from "../../lib/use-client.ts";

/**
 * Submits a task: a program and its arguments (one per line, never through a
 * shell), an optional time limit, and the bearer token when the server has
 * one. The token is sent as `Authorization: Bearer …` by the transport's
 * interceptor (transport-context.tsx) and kept in memory only.
 */
export function SubmitTaskForm() {
  const { token, setToken } = useTransportChoice();
  const client = useClient(NodeService);
  const [program, setProgram] = useState("");
  const [args, setArgs] = useState("");
  const [timeout, setTimeoutText] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [result, setResult] = useState<FormResult | undefined>();

  const submit = useMutation({
    mutationFn: (input: { program: string; args: string[]; timeoutSeconds?: number }) =>
      client.submitTask(
        {
          command: { program: input.program, args: input.args },
          timeout:
            input.timeoutSeconds === undefined
              ? undefined
              : create(DurationSchema, {
                  seconds: BigInt(Math.floor(input.timeoutSeconds)),
                  nanos: Math.round((input.timeoutSeconds % 1) * 1e9),
                }),
        },
      ),
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setResult(undefined);
    const next: Record<string, string> = {};
    if (program.trim() === "") next.program = "name the program to run, e.g. echo";
    let timeoutSeconds: number | undefined;
    if (timeout.trim() !== "") {
      timeoutSeconds = Number(timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) next.timeout = "a positive number of seconds";
    }
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    const argList = args.split("\n").map((a) => a.replace(/\r$/, "")).filter((a, i, all) => a !== "" || i < all.length - 1);
    submit.mutate(
      { program: program.trim(), args: argList.filter((a) => a !== ""), timeoutSeconds },
      {
        onSuccess: (res) => setResult({ ok: true, text: `Task ${res.taskId} queued.` }),
        onError: (err) => {
          const e = ConnectError.from(err);
          if (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied) {
            setErrors({ token: token ? "the server did not accept this token" : "this server requires a token" });
            return;
          }
          const vs = violationsOf(e);
          if (vs.length > 0) {
            const byField: Record<string, string> = {};
            for (const v of vs) {
              const key = v.field.startsWith("command.args") ? "args" : v.field.startsWith("command") ? "program" : v.field.startsWith("timeout") ? "timeout" : "";
              if (key) byField[key] = v.description;
            }
            setErrors(byField);
          }
          setResult({ ok: false, text: describeError(e) });
        },
      },
    );
  };

  const err = (key: string, id: string) =>
    errors[key]
      ? {
          props: { "aria-invalid": true, "aria-describedby": `${id}-error` },
          node: (
            <p className="field-error" id={`${id}-error`}>
              {errors[key]}
            </p>
          ),
        }
      : { props: {}, node: null };
  const programErr = err("program", "task-program");
  const argsErr = err("args", "task-args");
  const timeoutErr = err("timeout", "task-timeout");
  const tokenErr = err("token", "task-token");

  return (
    <Panel title="Submit a task" id="submit-task">
      <form className="form" onSubmit={onSubmit} noValidate>
        <div className="field">
          <label htmlFor="task-program">Program</label>
          <input
            id="task-program"
            className="mono"
            placeholder="echo"
            autoComplete="off"
            value={program}
            onChange={(e) => setProgram(e.target.value)}
            {...programErr.props}
          />
          {programErr.node}
        </div>
        <div className="field">
          <label htmlFor="task-args">Arguments (one per line)</label>
          <textarea
            id="task-args"
            className="mono"
            rows={3}
            placeholder={"hello\nworld"}
            value={args}
            onChange={(e) => setArgs(e.target.value)}
            {...argsErr.props}
          />
          <p className="hint">Run without a shell: no quoting, globs or pipes.</p>
          {argsErr.node}
        </div>
        <div className="form-grid tight">
          <div className="field">
            <label htmlFor="task-timeout">Time limit (s)</label>
            <input
              id="task-timeout"
              inputMode="decimal"
              placeholder="worker default"
              value={timeout}
              onChange={(e) => setTimeoutText(e.target.value)}
              {...timeoutErr.props}
            />
            {timeoutErr.node}
          </div>
          <div className="field">
            <label htmlFor="task-token">Token (if required)</label>
            <input
              id="task-token"
              type="password"
              autoComplete="off"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              {...tokenErr.props}
            />
            {tokenErr.node}
          </div>
        </div>
        <FormActions
          pending={submit.isPending}
          label="Submit task"
          pendingLabel="Submitting…"
          result={result}
          resultTestId="submit-result"
        />
      </form>
    </Panel>
  );
}
