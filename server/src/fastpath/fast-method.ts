import type { DescMessage } from "@bufbuild/protobuf";
import type { Interceptor, MethodImplSpec } from "@connectrpc/connect";
import { createMethodSerializationLookup, type MethodSerializationLookup } from "@connectrpc/connect/protocol";
import { createInvoker, type Invoker } from "./invoke.ts";

/** Limits and hooks shared by the fast paths; the same values connect-node is given. */
export interface FastPathOptions {
  /** Largest request message (after decompression); bigger → RESOURCE_EXHAUSTED. */
  readMaxBytes: number;
  /** Largest response message; bigger → RESOURCE_EXHAUSTED. */
  writeMaxBytes: number;
  /** Responses at least this big are compressed when the client accepts gzip. Default in connect: 1024. */
  compressMinBytes: number;
  /** Aborted when the server shuts down; calls see it through ctx.signal. */
  shutdownSignal: AbortSignal;
  interceptors: readonly Interceptor[];
}

/** A method the fast paths can serve, with its serializers and invoker prepared once. */
export type FastMethod = {
  spec: MethodImplSpec;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
} & Invoker;

/** Prepares every method of the table (all four kinds). */
export function prepareMethods(
  table: ReadonlyMap<string, MethodImplSpec>,
  opts: FastPathOptions,
): Map<string, FastMethod> {
  const out = new Map<string, FastMethod>();
  for (const [path, spec] of table) {
    const inv = createInvoker(spec, opts.interceptors);
    if (inv === undefined) continue;
    const serialization = createMethodSerializationLookup(spec.method, undefined, undefined, {
      readMaxBytes: opts.readMaxBytes,
      writeMaxBytes: opts.writeMaxBytes,
    });
    out.set(path, { spec, serialization, ...inv } as FastMethod);
  }
  return out;
}
