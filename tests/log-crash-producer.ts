// Child process of tests/log-crash.test.ts: appends records to a commit log
// as fast as it can from many concurrent appenders and prints one line
// "offset producer seq" per acknowledged record, until it is killed.
import { openCommitLog } from "@switchboard/server/log/log";
import type { FsyncPolicy } from "@switchboard/server/log/durability";

/** The value of record `seq` of producer `p`: its length varies, its bytes are checkable. */
export function crashValue(p: number, seq: number): Buffer {
  const head = `p${p} s${seq} `;
  const len = head.length + ((p * 7919 + seq * 104729) % 700);
  const b = Buffer.alloc(len, 0x61 + ((p + seq) % 26));
  b.write(head);
  return b;
}

export const crashLogConfig = { maxStoreBytes: 64 * 1024, maxIndexBytes: 12 * 2000 }; // small: many roll-overs to crash in

if (import.meta.main) {
  const [dir, fsync = "always", producers = "32", round = "0"] = process.argv.slice(2);
  const log = await openCommitLog(dir!, { ...crashLogConfig, fsync: fsync as FsyncPolicy, fsyncIntervalMs: 20 });
  process.stdout.write(`ready ${log.nextOffset}\n`);
  await Promise.all(
    Array.from({ length: Number(producers) }, async (_, i) => {
      const p = Number(round) * 1000 + i;
      for (let seq = 0; ; seq++) {
        const offset = await log.append(crashValue(p, seq));
        // stdout is a pipe: writes are synchronous, so the line is out before the next append.
        process.stdout.write(`${offset} ${p} ${seq}\n`);
      }
    }),
  );
}
