// Reference peer for bench/log.ts: log.v1.LogService on @grpc/grpc-js, loading
// proto/log/v1/log.proto with @grpc/proto-loader, serving records from memory.
// ConsumeStream streams pre-built records with back-pressure (write() → 'drain');
// ProduceStream keeps each value in memory and acknowledges it with its offset;
// Produce and GetOffsets answer from memory (the probes of bench/fairness.ts).
//
//   node bench/peers/grpc-log-server.ts COUNT VALUE_BYTES   → prints "port N"
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const [count = "1000000", valueBytes = "100"] = process.argv.slice(2);
const root = path.join(import.meta.dirname, "../..");
const def = protoLoader.loadSync(path.join(root, "proto/log/v1/log.proto"), {
  includeDirs: [path.join(root, "proto"), path.join(root, "node_modules/google-proto-files")], // google/api/annotations.proto
  longs: Number,
  defaults: false,
});
const pkg = grpc.loadPackageDefinition(def) as unknown as {
  log: { v1: { LogService: { service: grpc.ServiceDefinition } } };
};

const value = Buffer.alloc(Number(valueBytes), 0x61);
const records: Array<{ record: { value: Buffer; offset: number } }> = [];
for (let i = 0; i < Number(count); i++) records.push({ record: { value, offset: i } });
const produced: Buffer[] = [];

type Call = grpc.ServerWritableStream<{ offset?: number; stopAtEnd?: boolean }, unknown>;

const server = new grpc.Server();
server.addService(pkg.log.v1.LogService.service, {
  consumeStream(call: Call) {
    let i = Number(call.request.offset ?? 0);
    const pump = () => {
      while (i < records.length) {
        if (call.cancelled) return;
        if (!call.write(records[i++])) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  },
  produceStream(call: grpc.ServerDuplexStream<{ record?: { value: Buffer } }, unknown>) {
    call.on("data", (req: { record?: { value: Buffer } }) => {
      produced.push(req.record?.value ?? Buffer.alloc(0));
      call.write({ offset: produced.length - 1 });
    });
    call.on("end", () => call.end());
  },
  getOffsets(_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) {
    const next = records.length + produced.length;
    cb(null, { lowestOffset: 0, highestOffset: Math.max(0, next - 1), nextOffset: next, empty: next === 0 });
  },
  produce(call: grpc.ServerUnaryCall<{ record?: { value: Buffer } }, unknown>, cb: grpc.sendUnaryData<unknown>) {
    produced.push(call.request.record?.value ?? Buffer.alloc(0));
    cb(null, { offset: produced.length - 1 });
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`port ${port}\n`);
});
