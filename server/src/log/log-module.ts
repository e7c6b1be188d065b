import path from "node:path";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { ServingStatus } from "../health/health-status.ts";
import type { ServiceContext, ServiceModuleFactory } from "../service-module.ts";
import type { CommitLog } from "./commit-log.ts";
import { openCommitLog } from "./log.ts";
import { logService } from "./log-service.ts";
import { segmentsBackend } from "./backend/segments.ts";
import { openJetStreamLog, type JetStreamLog } from "./backend/jetstream.ts";
import { reportJetStream } from "./backend/jetstream-backend.ts";

/**
 * Hosts log.v1.LogService on the commit log: in NATS JetStream with `--nats`,
 * else the embedded segment log in `<dataDir>/log/`.
 */
export const logModule: ServiceModuleFactory = async (ctx) => {
  const jetStream = ctx.options.nats ? await openJetStream(ctx) : undefined;
  const backend = jetStream ?? (await openSegments(ctx));
  const metrics = ctx.metrics;
  metrics?.log.setNewestOffsetSource(async () => (await backend.offsets()).next - 1);
  const onAppended = metrics ? (bytes: number, s: number) => metrics.log.appended(bytes, s) : undefined;
  const unsubscribe = backend.onAvailability?.((available) => {
    if (ctx.shutdownSignal.aborted) return;
    ctx.logger.warn({ available }, available ? "commit log: NATS is reachable again" : "commit log: NATS is unreachable");
    ctx.health.set(LogService.typeName, available ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  });
  return {
    services: [LogService],
    register: (router) => router.service(LogService, logService(backend, { onAppended })),
    close: async () => {
      unsubscribe?.();
      await backend.close();
    },
    // The embedded log is described from the options (its segment directory).
    ...(jetStream ? { backends: async () => [await reportJetStream(jetStream, `${ctx.options.nats!.servers.map(redactNatsUrl).join(",")} stream ${jetStream.streamName}`)] } : {}),
  };
};

async function openSegments({ options, logger }: ServiceContext): Promise<CommitLog> {
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
  return segmentsBackend(log);
}

/** A NATS URL without any user:password part; credentials are never logged or reported. */
const redactNatsUrl = (url: string) => url.replace(/\/\/[^@/]*@/, "//***@");

async function openJetStream({ options, logger }: ServiceContext): Promise<JetStreamLog> {
  const nats = options.nats!;
  const { maxRecordBytes, retentionBytes, retentionAgeMs } = options.commitLog;
  const log = await openJetStreamLog({
    servers: nats.servers,
    ...(nats.auth ? { auth: nats.auth } : {}),
    ...(nats.stream !== undefined ? { stream: nats.stream } : {}),
    ...(nats.replicas !== undefined ? { replicas: nats.replicas } : {}),
    ...(maxRecordBytes !== undefined ? { maxRecordBytes } : {}),
    ...(retentionBytes !== undefined ? { retentionBytes } : {}),
    ...(retentionAgeMs !== undefined ? { retentionAgeMs } : {}),
  });
  const { lowest, next } = await log.offsets();
  logger.info(
    { nats: nats.servers.map(redactNatsUrl), stream: log.streamName, replicas: log.replicas, lowestOffset: lowest, nextOffset: next },
    "commit log opened on NATS JetStream",
  );
  return log;
}
