import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import {
  GetOffsetsResponseSchema,
  ProduceStreamResponseSchema,
  RecordSchema,
  ProduceStreamRequestSchema,
  type Record as LogRecord,
} from "@switchboard/gen/log/v1/log_pb.js";
import { examples, withCli } from "../action.ts";
import type { Cli } from "../context.ts";
import { UsageError } from "../exit-codes.ts";
import { formatBytes, formatDetails } from "../format.ts";
import { follow } from "../follow.ts";
import { InputGuard, openInput, readLines, withAbort, type InputLine } from "../input.ts";
import { parseOffset, parsePositiveInt } from "../parse.ts";
import { Progress } from "../progress.ts";

/** `switchboard log …`: log.v1.LogService. */
export function logCommand(): Command {
  const log = new Command("log")
    .description("produce and consume records of the commit log (log.v1.LogService)")
    .enablePositionalOptions()
    .addHelpText(
      "after",
      examples(
        "switchboard log produce 'hello world'",
        "seq 1 10000 | switchboard log produce",
        "switchboard log consume 0",
        "switchboard log tail --last 10 --follow",
        "switchboard log offsets --json",
      ),
    );

  log
    .command("produce")
    .description("append records (ProduceStream, bidi streaming): the VALUES given, else one record per line of --file or stdin")
    .argument("[values...]", "record values as text")
    .option("--file <file>", "input file; default stdin ('-')")
    .option("--text", "take every line as text, even one that looks like a Record JSON")
    .option("--progress", "show the progress line even when stderr is not a terminal")
    .option("--no-progress", "never show the progress line")
    .addHelpText(
      "after",
      '\nA line that is a Record in protobuf JSON ({"value":"<base64>"}, as printed by `log tail --json`)\n' +
        "is appended as those bytes; any other line is appended as its text (without the newline).\n" +
        "On a terminal a progress line is shown on stderr (not with --json). Each record is acknowledged with its offset\n" +
        "(printed per record with --json).\n" +
        examples(
          "switchboard log produce 'first record' 'second record'",
          "seq 1 100000 | switchboard log produce",
          "switchboard log tail --json --server http://a:8080 | switchboard log produce --server http://b:8080",
        ),
    )
    .action(
      withCli(async (cli, values: string[], opts: { file?: string; text?: boolean; progress?: boolean }) => {
        let lines: AsyncIterable<InputLine>;
        let name = "arguments";
        if (values.length > 0) {
          if (opts.file !== undefined) throw new UsageError("give record values as arguments or --file, not both");
          lines = (async function* () {
            for (const [i, text] of values.entries()) yield { text, lineNo: i + 1 };
          })();
        } else {
          const input = await openInput(opts.file, cli.runtime.stdin, (t) => cli.note(t));
          name = input.name;
          lines = readLines(input.stream, cli.signal);
        }
        const fromArgs = values.length > 0;
        let sent = 0;
        const requests = async function* (): AsyncGenerator<MessageInitShape<typeof ProduceStreamRequestSchema>> {
          for await (const line of lines) {
            yield { record: fromArgs || opts.text ? textRecord(line.text) : parseRecordLine(line, name) };
            sent++;
          }
        };
        const progress = new Progress(cli, opts.progress);
        const guard = new InputGuard();
        const controller = new AbortController();
        let acked = 0;
        let first: bigint | undefined;
        let last: bigint | undefined;
        try {
          const stream = cli.clients({ fullDuplex: true }).log.produceStream(guard.wrap(requests(), controller), withAbort(cli.openCall(), controller));
          for await (const res of stream) {
            acked++;
            first ??= res.offset;
            last = res.offset;
            if (cli.json) cli.outJson(ProduceStreamResponseSchema, res);
            progress.update(`produced ${acked} record(s), last offset ${res.offset}`);
          }
        } catch (err) {
          progress.done();
          guard.rethrow(err);
        }
        progress.done();
        if (acked !== sent) throw new Error(`the server acknowledged ${acked} of ${sent} records`);
        if (!cli.json) {
          cli.out(acked === 0 ? "no records in the input; nothing produced\n" : `produced ${acked} record(s), offsets ${first}..${last}\n`);
        }
      }),
    );

  log
    .command("consume")
    .description("print the record at OFFSET (Consume)")
    .argument("<offset>", "offset to read", parseOffset)
    .addHelpText("after", "\nOutput: OFFSET<tab>VALUE (text, or base64:… for binary values).\n" + examples("switchboard log consume 0", "switchboard log consume 42 --json"))
    .action(
      withCli(async (cli, offset: bigint) => {
        const res = await cli.clients().log.consume({ offset }, cli.call());
        printRecord(cli, res.record ?? create(RecordSchema, { offset }));
      }),
    );

  log
    .command("tail")
    .description("print records from an offset on (ConsumeStream); with --follow keep waiting for new ones until Ctrl-C")
    .addOption(new Option("--from <offset>", "first offset (default: the lowest retained offset)").argParser(parseOffset).conflicts("last"))
    .addOption(new Option("--last <n>", "start N records before the end").argParser(parsePositiveInt))
    .option("-f, --follow", "keep the stream open and print new records as they are produced; reconnects (with back-off) after the last printed record when the server goes away")
    .addHelpText(
      "after",
      "\nOutput: OFFSET<tab>VALUE per record (one Record JSON per line with --json).\n" +
        examples("switchboard log tail", "switchboard log tail --from 100", "switchboard log tail --last 5 --follow", "switchboard log tail -f --json"),
    )
    .action(
      withCli(async (cli, opts: { from?: bigint; last?: number; follow?: boolean }) => {
        const client = cli.clients().log;
        let offset = opts.from;
        if (offset === undefined) {
          const o = await client.getOffsets({}, cli.call());
          if (o.empty) offset = o.nextOffset;
          else if (opts.last !== undefined) {
            const back = o.nextOffset - BigInt(opts.last);
            offset = back > o.lowestOffset ? back : o.lowestOffset;
          } else offset = o.lowestOffset;
        }
        if (!opts.follow) {
          for await (const res of client.consumeStream({ offset, stopAtEnd: true }, cli.call())) printRecord(cli, res.record ?? create(RecordSchema));
          return;
        }
        // Resumes after the last printed record when the server comes back.
        let next = offset;
        await follow({
          open: (call) => client.consumeStream({ offset: next, stopAtEnd: false }, call),
          onMessage: (res) => {
            const record = res.record ?? create(RecordSchema);
            printRecord(cli, record);
            next = record.offset + 1n;
          },
          signal: cli.signal,
          timeoutMs: cli.openCall().timeoutMs,
          note: (text) => cli.note(text),
        });
      }),
    );

  log
    .command("offsets")
    .description("show the range of offsets the log holds (GetOffsets)")
    .addHelpText("after", examples("switchboard log offsets", "switchboard log offsets --json"))
    .action(
      withCli(async (cli) => {
        const res = await cli.clients().log.getOffsets({}, cli.call());
        if (cli.json) cli.outJson(GetOffsetsResponseSchema, res);
        else if (res.empty) cli.out(formatDetails([["records", "0 (empty)"], ["next offset", String(res.nextOffset)]]));
        else {
          cli.out(
            formatDetails([
              ["records", String(res.nextOffset - res.lowestOffset)],
              ["lowest offset", String(res.lowestOffset)],
              ["highest offset", String(res.highestOffset)],
              ["next offset", String(res.nextOffset)],
            ]),
          );
        }
      }),
    );
  return log;
}

function printRecord(cli: Cli, record: LogRecord): void {
  if (cli.json) cli.outJson(RecordSchema, record);
  else cli.out(`${record.offset}\t${formatBytes(record.value)}\n`);
}

const encoder = new TextEncoder();

function textRecord(text: string): LogRecord {
  return create(RecordSchema, { value: encoder.encode(text) });
}

/**
 * A line that is exactly a Record in protobuf JSON ({"value": base64,
 * "offset"?}) becomes those bytes, so `tail --json | produce` copies records
 * byte for byte; every other line is text.
 */
export function parseRecordLine(line: InputLine, source: string): LogRecord {
  const t = line.text.trim();
  if (t.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      return textRecord(line.text);
    }
    if (
      v !== null &&
      typeof v === "object" &&
      typeof (v as { value?: unknown }).value === "string" &&
      Object.keys(v).every((k) => k === "value" || k === "offset")
    ) {
      try {
        const r = fromJson(RecordSchema, v as JsonValue);
        return create(RecordSchema, { value: r.value });
      } catch (err) {
        throw new UsageError(`${source} line ${line.lineNo}: a Record JSON with an invalid value: ${(err as Error).message}`);
      }
    }
  }
  return textRecord(line.text);
}
