import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import { isUnreachable } from "./lib/errors.ts";
import { Router } from "./lib/router.tsx";
import { AppTransportProvider } from "./lib/transport-context.tsx";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Retry only when the server could not be reached; a NOT_FOUND or
      // UNIMPLEMENTED answer is final. The health banner refetches failed
      // queries once the server is back.
      retry: (count, err) => count < 2 && isUnreachable(err),
      staleTime: 2000,
    },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <AppTransportProvider>
        <Router>
          <App />
        </Router>
      </AppTransportProvider>
    </QueryClientProvider>
  </StrictMode>,
);
