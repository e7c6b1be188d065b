import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { useQuery } from "@connectrpc/connect-query";
import { ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { pollEvery } from "../../lib/errors.ts";
import { ProduceForm } from "./produce-form.tsx";
import { ReadOffset } from "./read-offset.tsx";
import { LiveTail } from "./live-tail.tsx";

/** Log: the offsets, produce, read one offset, and a live tail. */
export function LogPage() {
  const offsets = useQuery(LogService.method.getOffsets, {}, { refetchInterval: pollEvery(3000) });
  const o = offsets.data;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Commit log</h1>
        <p className="lede">Records get gapless offsets; the tail follows <code>ConsumeStream</code> like <code>tail -f</code>.</p>
      </div>
      <Panel title="Offsets" id="offsets">
        {offsets.isPending ? (
          <Loading />
        ) : offsets.isError ? (
          <ErrorMessage error={offsets.error} prefix="Could not read the offsets" />
        ) : o ? (
          <dl className="stats" data-testid="offsets">
            <div>
              <dt>Lowest</dt>
              <dd data-testid="lowest-offset">{o.empty ? "—" : o.lowestOffset.toString()}</dd>
            </div>
            <div>
              <dt>Highest</dt>
              <dd data-testid="highest-offset">{o.empty ? "—" : o.highestOffset.toString()}</dd>
            </div>
            <div>
              <dt>Next</dt>
              <dd data-testid="next-offset">{o.nextOffset.toString()}</dd>
            </div>
            <div>
              <dt>Records</dt>
              <dd>{o.empty ? "0" : (o.nextOffset - o.lowestOffset).toString()}</dd>
            </div>
          </dl>
        ) : null}
      </Panel>
      <div className="grid-2">
        <Panel title="Produce" id="produce">
          <ProduceForm onProduced={() => void offsets.refetch()} />
        </Panel>
        <Panel title="Read one offset" id="read">
          <ReadOffset />
        </Panel>
      </div>
      <LiveTail lowest={o && !o.empty ? o.lowestOffset : undefined} />
    </div>
  );
}
