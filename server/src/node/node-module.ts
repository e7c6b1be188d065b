import { NodeService } from "../../../gen/node/v1/node_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";

/** Placeholder until the task system lands: every method answers UNIMPLEMENTED. */
export const nodeModule: ServiceModuleFactory = () => ({
  services: [NodeService],
  register: (router) => router.service(NodeService, {}),
  close: async () => {},
});
