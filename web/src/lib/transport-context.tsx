import { TransportProvider } from "@connectrpc/connect-query";
import { createContext, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { bearerTokenInterceptor } from "@switchboard/common/bearer-token";
import {
  createTransport,
  loadTransportKind,
  saveTransportKind,
  serverBaseUrl,
  type TransportKind,
} from "./transport.ts";

interface TransportChoice {
  kind: TransportKind;
  baseUrl: string;
  setKind(kind: TransportKind): void;
  /** The bearer token sent with every call when not empty (e.g. for SubmitTask); in memory only, never stored. */
  token: string;
  setToken(token: string): void;
}

const TransportChoiceContext = createContext<TransportChoice | undefined>(undefined);

/**
 * Holds the chosen protocol and provides its transport to every call:
 * connect-query hooks get it through TransportProvider, streams through
 * `useTransport()` / `useClient()`. Switching creates a new transport, so
 * cached queries (keyed by transport) are fetched again over the new
 * protocol. The bearer token is an interceptor of the transport that reads
 * the current token on every call, so changing it keeps the transport.
 */
export function AppTransportProvider({ children }: { children: ReactNode }) {
  const [kind, setKindState] = useState<TransportKind>(loadTransportKind);
  const baseUrl = useMemo(serverBaseUrl, []);
  const [token, setToken] = useState("");
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const transport = useMemo(
    () => createTransport(kind, baseUrl, [bearerTokenInterceptor(() => tokenRef.current)]),
    [kind, baseUrl],
  );
  const choice = useMemo<TransportChoice>(
    () => ({
      kind,
      baseUrl,
      setKind(next) {
        saveTransportKind(next);
        setKindState(next);
      },
      token,
      setToken,
    }),
    [kind, baseUrl, token],
  );
  return (
    <TransportChoiceContext.Provider value={choice}>
      <TransportProvider transport={transport}>{children}</TransportProvider>
    </TransportChoiceContext.Provider>
  );
}

export function useTransportChoice(): TransportChoice {
  const c = useContext(TransportChoiceContext);
  if (!c) throw new Error("useTransportChoice outside AppTransportProvider");
  return c;
}
