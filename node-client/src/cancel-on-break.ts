import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions, type Client } from "@connectrpc/connect";

/**
 * Makes `break` (or `return`, or a throw) out of a `for await` over a
 * server-streaming or bidi call cancel that call.
 *
 * connect-es clients deliberately give response iterators no return(), so
 * leaving the loop early keeps the HTTP/2 stream open (the server goes on
 * sending) and the call's deadline timer pending, which keeps a script's
 * process alive until the deadline fires. Hand-written because it is a thin
 * wrapper over the generated method list: return() aborts the call, then
 * reads the stream to its cancelled end so connect releases the stream and
 * the timer.
 */
export function cancelOnBreak<T extends DescService>(service: T, client: Client<T>): Client<T> {
  const wrapped: Record<string, unknown> = { ...client };
  for (const method of service.methods) {
    if (method.methodKind !== "server_streaming" && method.methodKind !== "bidi_streaming") continue;
    const call = (client as Record<string, (input: unknown, options?: CallOptions) => AsyncIterable<unknown>>)[method.localName]!;
    wrapped[method.localName] = (input: unknown, options?: CallOptions) => {
      const own = new AbortController();
      const signal = options?.signal ? AbortSignal.any([options.signal, own.signal]) : own.signal;
      return cancellable(call(input, { ...options, signal }), own);
    };
  }
  return wrapped as Client<T>;
}

function cancellable<T>(messages: AsyncIterable<T>, controller: AbortController): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = messages[Symbol.asyncIterator]();
      let finished = false;
      return {
        async next() {
          try {
            const r = await it.next();
            if (r.done) finished = true;
            return r;
          } catch (err) {
            finished = true;
            throw err;
          }
        },
        async return(value?: unknown) {
          if (!finished) {
            finished = true;
            controller.abort(new ConnectError("the client stopped reading the stream", Code.Canceled));
            try {
              while (!(await it.next()).done);
            } catch {
              // the cancellation itself
            }
          }
          return { done: true, value: value as T };
        },
      };
    },
  };
}
