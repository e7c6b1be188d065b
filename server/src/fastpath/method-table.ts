import type { DescService } from "@bufbuild/protobuf";
import {
  createServiceImplSpec,
  type ConnectRouter,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";

/**
 * The service implementations a router was given, by request path
 * ("/order.v1.OrderService/GetOrder"). The fast paths look methods up here, so
 * they call the very ServiceImpl objects the Connect router serves.
 */
export type MethodTable = ReadonlyMap<string, MethodImplSpec>;

/**
 * Wraps `routes` so that every `router.service()` call is also recorded in a
 * MethodTable. Methods the implementation leaves out are neither recorded nor
 * registered (see `registerImplemented`): they are unknown procedures,
 * answered UNIMPLEMENTED by http/unknown-procedure.ts. `router.rpc()`
 * registrations are not recorded either, nor services registered with their
 * own options: those always take the Connect path.
 */
export function recordRoutes(routes: (router: ConnectRouter) => void): {
  routes: (router: ConnectRouter) => void;
  table: Map<string, MethodImplSpec>;
} {
  const table = new Map<string, MethodImplSpec>();
  const recording = (router: ConnectRouter) => {
    const proxy: ConnectRouter = {
      get handlers() {
        return router.handlers;
      },
      service(service: DescService, impl: Partial<ServiceImpl<DescService>>, options?: object) {
        registerImplemented(router, service, impl, options);
        // Per-service options (own interceptors, limits…) are Connect's to honour.
        if (options !== undefined) return proxy;
        const spec = createServiceImplSpec(service, impl);
        for (const method of service.methods) {
          if (typeof (impl as Record<string, unknown>)[method.localName] !== "function") continue;
          const m = spec.methods[method.localName];
          if (m) table.set(`/${service.typeName}/${method.name}`, m);
        }
        return proxy;
      },
      rpc(method, impl, options) {
        router.rpc(method, impl, options);
        return proxy;
      },
    } as ConnectRouter;
    routes(proxy);
  };
  return { routes: recording, table };
}

/**
 * Registers only the methods `impl` implements. connect's `router.service()`
 * would answer a left-out method itself, for gRPC with response headers and
 * then trailers; left unregistered, it reaches the fallback, which answers
 * UNIMPLEMENTED in the caller's protocol and for gRPC over HTTP/2 trailers-only
 * (one HEADERS frame with END_STREAM), as gRPC servers answer any method they
 * do not serve.
 */
function registerImplemented(
  router: ConnectRouter,
  service: DescService,
  impl: Partial<ServiceImpl<DescService>>,
  options: object | undefined,
): void {
  const fns = impl as Record<string, unknown>;
  const implemented = service.methods.filter((m) => typeof fns[m.localName] === "function");
  if (implemented.length === service.methods.length) {
    router.service(service, impl, options);
    return;
  }
  for (const m of implemented) {
    const fn = (fns[m.localName] as (...args: unknown[]) => unknown).bind(impl);
    router.rpc(m, fn as never, options);
  }
}
