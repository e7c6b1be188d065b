import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Etcd3 } from "etcd3";
import { RegisteredWorkerSchema, type RegisteredWorker } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { watchWorkers } from "@switchboard/naming/register-worker";
import type { WorkerRecord } from "@switchboard/naming/worker-record";

/** The worker nodes registered in etcd, kept up to date. */
export interface WorkerView {
  readonly enabled: boolean;
  /** Ordered by id. */
  workers(): RegisteredWorker[];
  close(): Promise<void>;
}

export const disabledWorkerView: WorkerView = {
  enabled: false,
  workers: () => [],
  close: () => Promise.resolve(),
};

/** Mirrors `<prefix>/<id>` worker registrations (list, then watch). */
export function etcdWorkerView(client: Etcd3, prefix: string): WorkerView {
  let current: RegisteredWorker[] = [];
  const watch = watchWorkers(client, (workers) => (current = workers.map(toMessage)), prefix);
  return {
    enabled: true,
    workers: () => current,
    close: () => watch.close(),
  };
}

function toMessage(w: WorkerRecord): RegisteredWorker {
  const started = w.startTime ? new Date(w.startTime) : undefined;
  return create(RegisteredWorkerSchema, {
    id: w.id,
    labels: w.labels,
    address: w.address,
    instanceId: w.instanceId,
    startTime: started && !Number.isNaN(started.getTime()) ? timestampFromDate(started) : undefined,
  });
}
