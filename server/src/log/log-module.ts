import { LogService } from "../../../gen/log/v1/log_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";

/** Placeholder until the commit log lands: every method answers UNIMPLEMENTED. */
export const logModule: ServiceModuleFactory = () => ({
  services: [LogService],
  register: (router) => router.service(LogService, {}),
  close: async () => {},
});
