import { Command, InvalidArgumentError, Option } from "commander";
import { parseAllowList } from "../../worker/allowlist.ts";
import { parseEnvPairs } from "../../worker/child-env.ts";
import { workerDefaults, type WorkerEvent } from "../../worker/options.ts";
import { startWorker } from "../../worker/worker.ts";
import { fatalHint } from "../../worker/transient.ts";
import { ConnectError } from "@connectrpc/connect";
import { NodeService } from "@switchboard/gen/node/v1/node_pb.js";
import { bearerTokenInterceptor } from "@switchboard/common/bearer-token";
import { createBalancedTransport } from "../../discovery/balanced-transport.ts";
import { createEtcdClient } from "@switchboard/naming/etcd-client";
import { registerWorker, type WorkerRegistration } from "@switchboard/naming/register-worker";
import { collectLabel, parseDurationMs, parseEndpoints, parsePositiveInt, parseProtocol, parseServerUrl, readTokenFile } from "../parse.ts";

/** What `switchboard worker` parses its flags into. */
interface WorkerFlags {
  server?: string;
  allow: string[];
  label?: Record<string, string>;
  capacity: number;
  id?: string;
  workdir?: string;
  token?: string;
  tokenFile?: string;
  maxOutputBytes: number;
  defaultTimeout: number;
  killGrace: number;
  protocol?: "grpc" | "connect" | "grpc-web";
  heartbeatInterval: number;
  drainTimeout: number;
  inheritEnv?: boolean;
  env: string[];
  etcd?: string[];
  etcdPrefix?: string;
  workerPrefix?: string;
}

const collectAllow = (text: string, previous: string[] = []) => {
  try {
    parseAllowList([text]);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--allow: /, ""));
  }
  return [...previous, ...text.split(",").map((s) => s.trim()).filter(Boolean)];
};
const collectEnv = (text: string, previous: string[] = []) => {
  if (text.indexOf("=") <= 0) throw new InvalidArgumentError(`"${text}" is not KEY=VALUE`);
  return [...previous, text];
};

/**
 * `switchboard worker`: connects to a master and runs the tasks it assigns —
 * only programs on the allowlist, without a shell, with a time limit, capped
 * output and a clean environment. Prints one JSON line per event on stderr.
 * SIGTERM/SIGINT: drain (see README), then exit 0; a second signal exits 1.
 */
export function workerCommand(): Command {
  return new Command("worker")
    .description("run tasks from the master (node.v1.NodeService) — only allowlisted programs, never a shell")
    .addOption(new Option("--server <url>", "master URL (env SWITCHBOARD_SERVER, default http://localhost:8080)").argParser(parseServerUrl))
    .addOption(new Option("--allow <list>", "programs it may run: comma-separated exact names or absolute paths; repeatable").argParser(collectAllow).default([], "none"))
    .addOption(new Option("--label <k=v>", "worker label tasks can require; repeatable").argParser(collectLabel))
    .addOption(new Option("--capacity <n>", "tasks run at once").argParser(parsePositiveInt).default(workerDefaults.capacity))
    .addOption(new Option("--id <id>", "worker id, unique in the cluster (default <hostname>-<pid>)"))
    .addOption(new Option("--workdir <dir>", "directory for per-task working directories (default: a new temporary one)"))
    .addOption(new Option("--token <token>", "bearer token of the master (visible in ps: prefer --token-file or env SWITCHBOARD_TOKEN)"))
    .addOption(new Option("--token-file <file>", "read the bearer token from a file").argParser(readTokenFile))
    .addOption(new Option("--max-output-bytes <n>", "cap of captured stdout and of stderr per task").argParser(parsePositiveInt).default(workerDefaults.maxOutputBytes))
    .addOption(new Option("--default-timeout <duration>", "time limit of tasks without one, e.g. 10m").argParser(parseDurationMs).default(workerDefaults.defaultTimeoutMs, "10m"))
    .addOption(new Option("--kill-grace <duration>", "SIGTERM → SIGKILL grace when a task is stopped").argParser(parseDurationMs).default(workerDefaults.killGraceMs, "2s"))
    .addOption(new Option("--protocol <protocol>", "grpc | connect | grpc-web (default grpc)").argParser(parseProtocol))
    .addOption(new Option("--heartbeat-interval <duration>", "ReportStatus interval").argParser(parseDurationMs).default(workerDefaults.heartbeatIntervalMs, "5s"))
    .addOption(new Option("--drain-timeout <duration>", "on SIGTERM: how long running tasks may finish before they are killed and given back").argParser(parseDurationMs).default(workerDefaults.drainTimeoutMs, "30s"))
    .addOption(new Option("--inherit-env", "pass the worker's environment to tasks (default: only PATH=/usr/local/bin:/usr/bin:/bin, HOME, TMPDIR)"))
    .addOption(new Option("--env <K=V>", "environment variable for every task; repeatable").argParser(collectEnv).default([], "none"))
    .addOption(new Option("--etcd <endpoints>", "find the master in etcd and register this worker there (env SWITCHBOARD_ETCD; --server wins)").argParser(parseEndpoints))
    .addOption(new Option("--etcd-prefix <prefix>", "etcd key prefix of the service registrations (default switchboard/services)"))
    .addOption(new Option("--worker-prefix <prefix>", "etcd key prefix of worker registrations (default switchboard/workers)"))
    .addHelpText(
      "after",
      `
Examples:
  switchboard worker --server http://localhost:8080 --allow echo,sleep,touch
  switchboard worker --allow /usr/bin/python3 --label gpu=yes --capacity 4 --token-file ~/.switchboard-token
  switchboard worker --etcd http://127.0.0.1:2379 --allow echo   # master from etcd; listed under switchboard/workers/<id>`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const f = command.optsWithGlobals<WorkerFlags>();
      const env = process.env;
      const print = (e: WorkerEvent) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
      // --token-file's parser already replaced the path with the file's token.
      const token = f.token ?? f.tokenFile ?? (env.SWITCHBOARD_TOKEN || undefined);
      // With etcd (and no --server): the master is found through etcd and the
      // worker registers under <worker-prefix>/<id> while it runs.
      const etcdList = f.etcd ?? (f.server === undefined && env.SWITCHBOARD_ETCD ? parseEndpoints(env.SWITCHBOARD_ETCD) : undefined);
      const etcd = f.server === undefined && etcdList ? createEtcdClient(etcdList) : undefined;
      const transport = etcd
        ? createBalancedTransport({
            etcd,
            service: NodeService.typeName,
            prefix: f.etcdPrefix,
            protocol: f.protocol,
            interceptors: token ? [bearerTokenInterceptor(token)] : [],
          })
        : undefined;
      let registration: WorkerRegistration | undefined;
      const worker = await startWorker({
        transport,
        onStarted: etcd
          ? ({ id, labels }) => {
              registration = registerWorker({ etcd, id, labels: { ...labels }, prefix: f.workerPrefix });
            }
          : undefined,
        onStopping: async () => {
          await registration?.close();
        },
        serverUrl: f.server ?? (env.SWITCHBOARD_SERVER ? parseServerUrl(env.SWITCHBOARD_SERVER) : "http://localhost:8080"),
        protocol: f.protocol,
        token,
        allow: f.allow,
        labels: f.label ?? {},
        capacity: f.capacity,
        id: f.id,
        workdir: f.workdir,
        maxOutputBytes: f.maxOutputBytes,
        defaultTimeoutMs: f.defaultTimeout,
        killGraceMs: f.killGrace,
        heartbeatIntervalMs: f.heartbeatInterval,
        drainTimeoutMs: f.drainTimeout,
        inheritEnv: f.inheritEnv ?? false,
        env: parseEnvPairs(f.env),
        onEvent: print,
      });
      let signals = 0;
      const onSignal = () => {
        if (++signals > 1) process.exit(1);
        void worker.stop();
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      await worker.done;
      await registration?.close();
      await transport?.close();
      etcd?.close();
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      const failure = worker.failure();
      // Reported by main.ts as "error: CODE: message", exit code 1.
      if (failure) throw new ConnectError(`the master refused the worker (${failure.rawMessage}): ${fatalHint(failure.code)}`, failure.code);
    });
}
