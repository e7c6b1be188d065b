import type { Readable, Writable } from "node:stream";
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import { createClients, type Clients } from "../clients.ts";
import { traceContextFromEnv } from "../trace-context.ts";
import { ExitCode, type ExitCodeValue } from "./exit-codes.ts";
import type { GlobalOptions } from "./global-options.ts";

/** The process around a command: streams, environment and the Ctrl-C signal. */
export interface Runtime {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C (SIGINT): every call is given this signal. */
  signal: AbortSignal;
  /** Set by the command that ran: the process exit code. */
  exitCode?: number;
}

/** Deadline of calls that end on their own when --timeout is not given. */
export const defaultCallTimeoutMs = 30_000;

/**
 * What a command's action works with: the resolved global options, lazily
 * created clients, call options carrying the Ctrl-C signal, and output.
 */
export class Cli {
  readonly globals: GlobalOptions;
  readonly runtime: Runtime;
  /** Exit code when the command returns normally (0, or 3 for a negative answer). */
  exitCode: ExitCodeValue = ExitCode.ok;
  #clients: Clients | undefined;

  constructor(runtime: Runtime, globals: GlobalOptions) {
    this.runtime = runtime;
    this.globals = globals;
  }

  get json(): boolean {
    return this.globals.json;
  }

  get signal(): AbortSignal {
    return this.runtime.signal;
  }

  /**
   * Clients for the chosen server (or etcd). `fullDuplex` forces HTTP/2 for
   * client- and bidi-streaming calls, which HTTP/1.1 cannot carry.
   */
  clients(opts: { fullDuplex?: boolean } = {}): Clients {
    if (this.#clients) return this.#clients;
    const g = this.globals;
    this.#clients = createClients({
      // A one-shot command says at once when nothing is registered.
      ...(g.etcd ? { etcd: g.etcd, etcdPrefix: g.etcdPrefix, failWhenNoneRegistered: true } : { baseUrl: g.server }),
      protocol: g.protocol,
      httpVersion: opts.fullDuplex ? "2" : g.httpVersion,
      token: g.token,
      // A task that runs the CLI continues the trace it was submitted in.
      traceContext: traceContextFromEnv(this.runtime.env),
    });
    return this.#clients;
  }

  /** Options for a call that ends on its own: Ctrl-C signal and the --timeout deadline (default 30 s). */
  call(): CallOptions {
    return { signal: this.signal, timeoutMs: this.globals.timeoutMs ?? defaultCallTimeoutMs };
  }

  /** Options for an open-ended call (follow, watch, stdin upload): no deadline unless --timeout is given. */
  openCall(): CallOptions {
    return { signal: this.signal, timeoutMs: this.globals.timeoutMs ?? 0 };
  }

  /** Writes text to stdout as it is. */
  out(text: string): void {
    this.runtime.stdout.write(text);
  }

  /** Writes one message as one line of JSON (proto3 JSON mapping, every field shown). */
  outJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
    this.out(JSON.stringify(toJson(schema, message, { alwaysEmitImplicit: true })) + "\n");
  }

  /** Writes a plain JSON value as one line. */
  outJsonValue(value: unknown): void {
    this.out(JSON.stringify(value) + "\n");
  }

  /** A note for people on stderr (never part of the machine output). */
  note(text: string): void {
    this.runtime.stderr.write(text.endsWith("\n") ? text : text + "\n");
  }

  async close(): Promise<void> {
    await this.#clients?.close();
  }
}
