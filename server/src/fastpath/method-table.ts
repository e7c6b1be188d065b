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
 * MethodTable. Methods the implementation leaves out are not recorded: the
 * router answers those (UNIMPLEMENTED). `router.rpc()` registrations are not
 * recorded either, nor services registered with their own options: those
 * always take the Connect path.
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
        router.service(service, impl, options);
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
