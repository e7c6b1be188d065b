import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextKey,
  type ContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http";
import { messageCompressionKey, type MessageCompression } from "../message-compression.ts";

/**
 * A HandlerContext that allocates only what the call uses.
 *
 * connect's `createHandlerContext` builds, for every call, a deadline signal, a
 * linked AbortController (with listeners on the request and shutdown signals)
 * and three `Headers` objects. Under load that was a large share of the
 * server's time (aborting signals also builds DOMExceptions, which capture a
 * stack). Here the signal and the headers are made on first access: a unary
 * call whose implementation never looks at them costs none of it. Once
 * created, they behave exactly like connect's.
 */
export class FastContext implements HandlerContext {
  readonly method: DescMethod;
  readonly service: DescService;
  readonly requestMethod: string;
  readonly protocolName: string;
  readonly #rawHeaders: IncomingHttpHeaders;
  #url: string | undefined;
  readonly #shutdown: AbortSignal;
  #deadline: number | undefined;
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;
  #onShutdown: (() => void) | undefined;
  /** The call's per-message compression facts; seeded into `values` when they are first read. */
  compression: MessageCompression | undefined;

  constructor(
    method: DescMethod,
    protocolName: string,
    requestMethod: string,
    /** The request URL; undefined → built from the HTTP/2 pseudo-headers when first read. */
    url: string | undefined,
    rawHeaders: IncomingHttpHeaders,
    shutdown: AbortSignal,
    timeoutMs: number | undefined,
  ) {
    this.method = method;
    this.service = method.parent;
    this.protocolName = protocolName;
    this.requestMethod = requestMethod;
    this.#url = url;
    this.#rawHeaders = rawHeaders;
    this.#shutdown = shutdown;
    this.#deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  }

  get url(): string {
    if (this.#url === undefined) {
      const h = this.#rawHeaders;
      this.#url = `${h[":scheme"] ?? "http"}://${h[":authority"] ?? "localhost"}${h[":path"]}`;
    }
    return this.#url;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) {
        this.#controller.abort(this.#reason);
      } else if (this.#shutdown.aborted) {
        this.abort(this.#shutdown.reason);
      } else {
        this.#onShutdown = () => this.abort(this.#shutdown.reason);
        this.#shutdown.addEventListener("abort", this.#onShutdown, { once: true });
      }
    }
    return this.#controller.signal;
  }

  /** Whether the call was aborted (deadline, client cancel, shutdown), and why. */
  get aborted(): boolean {
    return this.#aborted || this.#shutdown.aborted;
  }
  get abortReason(): unknown {
    return this.#aborted ? this.#reason : this.#shutdown.reason;
  }

  timeoutMs(): number | undefined {
    return this.#deadline === undefined ? undefined : this.#deadline - Date.now();
  }

  /** One request header straight from Node's header object (no Headers built); lower-case name. */
  rawHeader(name: string): string | undefined {
    const v = this.#rawHeaders[name];
    return Array.isArray(v) ? v.join(", ") : v;
  }

  get requestHeader(): Headers {
    return (this.#requestHeader ??= toHeaders(this.#rawHeaders));
  }
  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }
  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }
  /** The response headers/trailers only if something created them. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.#responseHeader;
  }
  get responseTrailerIfAny(): Headers | undefined {
    return this.#responseTrailer;
  }
  get values(): ContextValues {
    if (this.#values === undefined) {
      this.#values = new Values();
      if (this.compression !== undefined) this.#values.set(messageCompressionKey, this.compression);
    }
    return this.#values;
  }

  /** Aborts the signal (once); the reason becomes a ConnectError. */
  abort(reason: unknown = new ConnectError("operation was aborted", Code.Canceled)): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.release();
  }

  /** Drops the shutdown listener; called when the call is over. */
  release(): void {
    if (this.#onShutdown !== undefined) {
      this.#shutdown.removeEventListener("abort", this.#onShutdown);
      this.#onShutdown = undefined;
    }
  }
}

/**
 * connect's ContextValues with its methods on a prototype: connect's
 * `createContextValues()` is an object literal whose three methods are new
 * closures on every call (every call reads its values: the trace
 * interceptor sets the trace context). Same behaviour: values are own
 * properties under the key's symbol, the key's default when absent.
 */
class Values implements ContextValues {
  get<T>(key: ContextKey<T>): T {
    return key.id in this ? (this as unknown as Record<symbol, T>)[key.id]! : key.defaultValue;
  }
  set<T>(key: ContextKey<T>, value: T): this {
    (this as unknown as Record<symbol, T>)[key.id] = value;
    return this;
  }
  delete(key: ContextKey<unknown>): this {
    delete (this as unknown as Record<symbol, unknown>)[key.id];
    return this;
  }
}

/** Node's header object (lower-case names, pseudo-headers) → fetch Headers. */
export function toHeaders(raw: IncomingHttpHeaders): Headers {
  return new RequestHeaders(raw) as unknown as Headers;
}

/** `Headers` as TypeScript should see it for subclassing (its DOM typings declare methods as properties). */
interface HeadersMethods {
  get(name: string): string | null;
  has(name: string): boolean;
  append(name: string, value: string): void;
  set(name: string, value: string): void;
  delete(name: string): void;
  getSetCookie(): string[];
  forEach(cb: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}
const HeadersBase = Headers as unknown as new () => HeadersMethods;

/**
 * Request headers as a real `Headers`, filled from Node's header object on
 * first use. `get` and `has` — all a typical interceptor calls (the request
 * log reads content-type) — answer from Node's object without filling, which
 * saves a validated `append` per header on every call. Every other method
 * fills the Headers first and then behaves exactly like `Headers`.
 */
class RequestHeaders extends HeadersBase {
  #raw: IncomingHttpHeaders | undefined;
  constructor(raw: IncomingHttpHeaders) {
    super();
    this.#raw = raw;
  }
  #fill(): void {
    const raw = this.#raw;
    if (raw === undefined) return;
    this.#raw = undefined;
    for (const key in raw) {
      if (key.charCodeAt(0) === 58 /* ":" */) continue;
      const v = raw[key];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) super.append(key, x);
      else super.append(key, v);
    }
  }
  override get(name: string): string | null {
    const raw = this.#raw;
    if (raw !== undefined && name.charCodeAt(0) !== 58) {
      const v = raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    }
    return super.get(name);
  }
  override has(name: string): boolean {
    const raw = this.#raw;
    if (raw !== undefined && name.charCodeAt(0) !== 58) return raw[name.toLowerCase()] !== undefined;
    return super.has(name);
  }
  override append(name: string, value: string): void {
    this.#fill();
    super.append(name, value);
  }
  override set(name: string, value: string): void {
    this.#fill();
    super.set(name, value);
  }
  override delete(name: string): void {
    this.#fill();
    super.delete(name);
  }
  override getSetCookie(): string[] {
    this.#fill();
    return super.getSetCookie();
  }
  override forEach(cb: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#fill();
    super.forEach(cb, thisArg);
  }
  override entries(): IterableIterator<[string, string]> {
    this.#fill();
    return super.entries();
  }
  override keys(): IterableIterator<string> {
    this.#fill();
    return super.keys();
  }
  override values(): IterableIterator<string> {
    this.#fill();
    return super.values();
  }
  override [Symbol.iterator](): IterableIterator<[string, string]> {
    this.#fill();
    return super[Symbol.iterator]();
  }
}

/** Copies `from` (if any) into a plain object of header fields, for Node's respond/writeHead; names get `prefix`. */
export function headersInto(to: Record<string, string | number>, from: Headers | undefined, prefix = ""): void {
  from?.forEach((v, k) => {
    to[prefix + k] = v;
  });
}
