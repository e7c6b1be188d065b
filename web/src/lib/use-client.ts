import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useMemo } from "react";

/**
 * A typed client of `service` over the app's transport (the chosen protocol,
 * with the bearer token interceptor; see transport-context.tsx). A new
 * client when the protocol is switched.
 */
export function useClient<T extends DescService>(service: T): Client<T> {
  const transport = useTransport();
  return useMemo(() => createClient(service, transport), [service, transport]);
}
