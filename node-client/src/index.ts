// @switchboard/node-client: typed clients for the Switchboard services.
// Explicit export list: everything public is named here.
export { createClients } from "./clients.ts";
export type { Clients, ClientsOptions } from "./clients.ts";
export { createTransport, protocols } from "./transport.ts";
export type { ClosableTransport, HttpVersion, Protocol, TransportOptions } from "./transport.ts";
export { bearerTokenInterceptor } from "./bearer-token.ts";
