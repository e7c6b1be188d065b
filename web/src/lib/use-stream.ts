import { ConnectError } from "@connectrpc/connect";
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { Backoff } from "@switchboard/common/backoff";
import { isUnreachable } from "./errors.ts";

export type StreamStatus = "idle" | "live" | "reconnecting" | "done" | "error";

export interface StreamState {
  status: StreamStatus;
  error: ConnectError | undefined;
}

export interface StreamOptions<T> {
  /**
   * Identity of the stream: null = not running; a new value cancels the
   * running call and opens a new one.
   */
  key: string | null;
  /**
   * Opens the call; must pass `signal` on so cancelling stops the RPC, and
   * `onHeader` so the state turns "live" once the server answered.
   */
  open(options: { signal: AbortSignal; onHeader: () => void }): AsyncIterable<T>;
  onMessage(message: T): void;
  /** Called before each (re)connect, e.g. to reset state on a fresh subscription. */
  onOpen?(attempt: number): void;
  /**
   * A long-lived stream: re-open after the server went away or stopped the
   * stream (UNAVAILABLE), with backoff; and close it while the tab is hidden,
   * re-opening when it is shown. Over HTTP/1.1 a browser opens at most 6
   * connections per server, shared by all tabs; every open stream holds one.
   * Callers resume from their own position (or get a fresh snapshot).
   */
  reconnect?: boolean;
}

function subscribeVisibility(onChange: () => void): () => void {
  document.addEventListener("visibilitychange", onChange);
  return () => document.removeEventListener("visibilitychange", onChange);
}

/** Whether the tab is visible. */
export function usePageVisible(): boolean {
  return useSyncExternalStore(subscribeVisibility, () => document.visibilityState !== "hidden");
}

/**
 * Runs one server-streaming call while `key` is set and hands each message
 * to `onMessage`. Hand-written rather than TanStack Query's (experimental)
 * streamedQuery because the streams here are endless tails that need
 * cancel, pause/resume from a position and reconnect — not cached results.
 */
export function useServerStream<T>(options: StreamOptions<T>): StreamState {
  const latest = useRef(options);
  latest.current = options;
  const [state, setState] = useState<StreamState>({ status: "idle", error: undefined });
  const visible = usePageVisible();
  const key = options.reconnect && !visible ? null : options.key;

  useEffect(() => {
    if (key === null) {
      setState((s) => (s.status === "live" || s.status === "reconnecting" ? { status: "idle", error: undefined } : s));
      return;
    }
    const controller = new AbortController();
    const { signal } = controller;
    // 500 ms doubling to 5 s, half jitter; back to 500 ms once the stream is live again.
    const retry = new Backoff({ initialMs: 500, maxMs: 5000 });
    void (async () => {
      for (let attempt = 0; ; attempt++) {
        let live = false;
        const markLive = () => {
          if (live || signal.aborted) return;
          live = true;
          retry.reset();
          setState({ status: "live", error: undefined });
        };
        if (attempt === 0) setState({ status: "live", error: undefined });
        try {
          latest.current.onOpen?.(attempt);
          for await (const message of latest.current.open({ signal, onHeader: markLive })) {
            if (signal.aborted) return;
            markLive();
            latest.current.onMessage(message);
          }
          if (!signal.aborted) setState({ status: "done", error: undefined });
          return;
        } catch (err) {
          if (signal.aborted) return;
          const error = ConnectError.from(err);
          if (!latest.current.reconnect || !isUnreachable(error)) {
            setState({ status: "error", error });
            return;
          }
          setState({ status: "reconnecting", error });
          const stopped = await sleep(retry.next(), signal);
          if (stopped) return;
        }
      }
    })();
    return () => controller.abort();
  }, [key]);

  return state;
}

/** Resolves after `ms` (false) or when `signal` aborts (true). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
