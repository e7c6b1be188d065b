import { TestService, UnimplementedService } from "@switchboard/gen/grpc/testing/test_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";
import { testService } from "./test-service.ts";

/**
 * `--interop`: grpc.testing.TestService and grpc.testing.UnimplementedService
 * (grpc's interop test contracts, proto/grpc/testing/) on the normal port,
 * through the same stack as the real services, so any gRPC interop client can
 * test this server. UnimplementedService is mounted without methods and
 * TestService without UnimplementedCall: both answer UNIMPLEMENTED.
 */
export const interopModule: ServiceModuleFactory = ({ options }) => ({
  services: [TestService, UnimplementedService],
  register: (router) => {
    router.service(TestService, testService(options.maxMessageBytes));
    router.service(UnimplementedService, {});
  },
  close: async () => {},
});
