import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

/** The protocols a browser can speak to the server. */
export const transportKinds = ["connect", "grpc-web"] as const;
export type TransportKind = (typeof transportKinds)[number];

export const transportLabels: Record<TransportKind, string> = {
  connect: "Connect",
  "grpc-web": "gRPC-Web",
};

const storageKey = "switchboard.transport";

/** The protocol chosen last time (localStorage), Connect by default. */
export function loadTransportKind(): TransportKind {
  try {
    const saved = window.localStorage.getItem(storageKey);
    if ((transportKinds as readonly string[]).includes(saved ?? "")) return saved as TransportKind;
  } catch {
    // Storage can be disabled (privacy mode); the default is fine then.
  }
  return "connect";
}

export function saveTransportKind(kind: TransportKind): void {
  try {
    window.localStorage.setItem(storageKey, kind);
  } catch {
    // Not remembered when storage is disabled.
  }
}

/**
 * Where the RPCs go. The built UI is served by the server itself, so it calls
 * its own origin; under `npm run dev` (Vite on :5173) it calls the server on
 * :8080 through CORS. VITE_SERVER_URL overrides both.
 */
export function serverBaseUrl(): string {
  const configured = import.meta.env.VITE_SERVER_URL as string | undefined;
  if (configured) return configured.replace(/\/$/, "");
  return import.meta.env.DEV ? "http://localhost:8080" : window.location.origin;
}

/** A transport for the chosen protocol. Connect uses JSON (readable in dev tools), gRPC-Web binary. */
export function createTransport(kind: TransportKind, baseUrl: string, interceptors: Interceptor[] = []): Transport {
  return kind === "grpc-web"
    ? createGrpcWebTransport({ baseUrl, interceptors })
    : createConnectTransport({ baseUrl, useBinaryFormat: false, interceptors });
}
