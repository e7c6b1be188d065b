import path from "node:path";
import { LogService } from "../../../gen/log/v1/log_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";
import { openCommitLog } from "./log.ts";
import { logService } from "./log-service.ts";
import { segmentsBackend } from "./backend/segments.ts";

/** Hosts log.v1.LogService on the commit log in `<dataDir>/log/`. */
export const logModule: ServiceModuleFactory = async ({ options, logger }) => {
  const dir = path.resolve(options.dataDir, "log");
  const log = await openCommitLog(dir, options.commitLog);
  if (log.openReport.removedEmptySegments > 0) {
    logger.warn({ dir, removed: log.openReport.removedEmptySegments }, "commit log: removed empty segments left by a torn roll-over");
  }
  for (const r of log.openReport.repaired) {
    logger.warn({ dir, ...r }, "commit log: repaired a segment after an unclean shutdown");
  }
  logger.info(
    { dir, segments: log.segmentCount, lowestOffset: log.lowestOffset, nextOffset: log.nextOffset, fsync: log.config.fsync },
    "commit log opened",
  );
  const backend = segmentsBackend(log);
  return {
    services: [LogService],
    register: (router) => router.service(LogService, logService(backend)),
    close: () => backend.close(),
  };
};
