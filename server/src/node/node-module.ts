import path from "node:path";
import { NodeService } from "../../../gen/node/v1/node_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";
import { bearerCheck } from "./auth.ts";
import { NodeMaster } from "./node-master.ts";
import { nodeService } from "./node-service.ts";
import { SqliteTaskStore } from "./sqlite-task-store.ts";

/**
 * Hosts node.v1.NodeService — the task master — on `<dataDir>/nodes.db`.
 * Open: store → master (recovers unfinished tasks) → heartbeat sweeper.
 * Close (after the server drained): sweeper and streams → store.
 */
export const nodeModule: ServiceModuleFactory = ({ options, logger, shutdownSignal, metrics }) => {
  const store = new SqliteTaskStore(path.resolve(options.dataDir));
  const master = new NodeMaster(store, logger, {
    workerTimeoutMs: options.workerTimeoutMs,
    taskRetries: options.taskRetries,
  });
  master.startSweeper();
  metrics?.tasks.follow(master, shutdownSignal);
  const impl = nodeService(master, { authorize: bearerCheck(options.authToken), shutdownSignal });
  return {
    services: [NodeService],
    register: (router) => router.service(NodeService, impl),
    close: async () => {
      master.close();
      store.close();
    },
  };
};
