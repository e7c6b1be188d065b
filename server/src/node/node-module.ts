import path from "node:path";
import { NodeService } from "@switchboard/gen/node/v1/node_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";
import { bearerCheck } from "./auth.ts";
import { ClusterMaster } from "./cluster-master.ts";
import { NodeMaster } from "./node-master.ts";
import { nodeService } from "./node-service.ts";
import { SqliteTaskStore } from "./store/sqlite.ts";
import type { TaskMaster } from "./task-master.ts";

/**
 * Hosts node.v1.NodeService — the task master. Embedded (default): the
 * in-process NodeMaster on `<dataDir>/nodes.db`. Cluster mode (`--postgres`):
 * the ClusterMaster, whose state lives in PostgreSQL shared by every instance.
 * Open: store → master (recovers unfinished tasks) → heartbeat sweeper.
 * Close (after the server drained): sweeper and streams → store.
 */
export const nodeModule: ServiceModuleFactory = async ({ options, logger, shutdownSignal, db, metrics }) => {
  let master: TaskMaster;
  let closeStore = async () => {};
  if (db) {
    master = await ClusterMaster.open(db, logger, {
      workerTimeoutMs: options.workerTimeoutMs,
      taskRetries: options.taskRetries,
    });
  } else {
    const store = new SqliteTaskStore(path.resolve(options.dataDir));
    const embedded = new NodeMaster(store.sync, logger, {
      workerTimeoutMs: options.workerTimeoutMs,
      taskRetries: options.taskRetries,
    });
    embedded.startSweeper();
    master = embedded;
    closeStore = () => store.close();
  }
  metrics?.tasks.follow(
    { watch: (taskId, sendInitial) => master.watch(taskId, sendInitial, 0n), nodes: () => master.nodes() },
    shutdownSignal,
  );
  const impl = nodeService(master, { authorize: bearerCheck(options.authToken), shutdownSignal });
  return {
    services: [NodeService],
    register: (router) => router.service(NodeService, impl),
    close: async () => {
      await master.close();
      await closeStore();
    },
  };
};
