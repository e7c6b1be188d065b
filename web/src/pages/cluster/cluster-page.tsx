import { Backends } from "./backends.tsx";
import { Instances } from "./instances.tsx";
import { ServerHealth } from "./server-health.tsx";
import { SubmitTaskForm } from "./submit-task-form.tsx";
import { Tasks } from "./tasks.tsx";
import { Workers } from "./workers.tsx";

/** Cluster: server health, registered instances, workers, submitting and watching tasks. */
export function ClusterPage() {
  return (
    <div className="page">
      <div className="page-head">
        <h1>Cluster</h1>
        <p className="lede">Health, the service registry (etcd), workers and their tasks — all live.</p>
      </div>
      <div className="grid-2">
        <ServerHealth />
        <Instances />
      </div>
      <Backends />
      <Workers />
      <div className="grid-tasks">
        <SubmitTaskForm />
        <Tasks />
      </div>
    </div>
  );
}
