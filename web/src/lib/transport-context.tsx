import { TransportProvider } from "@connectrpc/connect-query";
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
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
}

const TransportChoiceContext = createContext<TransportChoice | undefined>(undefined);

/**
 * Holds the chosen protocol and provides its transport to every call:
 * connect-query hooks get it through TransportProvider, streams through
 * `useTransport()`. Switching creates a new transport, so cached queries
 * (keyed by transport) are fetched again over the new protocol.
 */
export function AppTransportProvider({ children }: { children: ReactNode }) {
  const [kind, setKindState] = useState<TransportKind>(loadTransportKind);
  const baseUrl = useMemo(serverBaseUrl, []);
  const transport = useMemo(() => createTransport(kind, baseUrl), [kind, baseUrl]);
  const choice = useMemo<TransportChoice>(
    () => ({
      kind,
      baseUrl,
      setKind(next) {
        saveTransportKind(next);
        setKindState(next);
      },
    }),
    [kind, baseUrl],
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
