import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { sniffProtocol } from "./sniff.ts";

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * A real loopback connection: the client writes `chunks` (pausing between
 * them); the server side is sniffed. Resolves with the decision and the bytes
 * the socket yields afterwards (the sniffed bytes must be put back), or
 * "destroyed" when the sniffer gave up.
 */
async function sniff(chunks: Buffer[], opts: { timeoutMs?: number; end?: boolean } = {}): Promise<{ decision: string; replay: string }> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  try {
    const accepted = once(server, "connection") as Promise<[net.Socket]>;
    const client = net.connect(port, "127.0.0.1");
    client.on("error", () => {});
    const [socket] = await accepted;
    const result = new Promise<{ decision: string; replay: string }>((resolve) => {
      socket.on("close", () => resolve({ decision: "destroyed", replay: "" }));
      sniffProtocol(socket, opts.timeoutMs ?? 5_000, (proto) => {
        let replay = "";
        const total = Buffer.concat(chunks).length;
        const read = () => {
          let c: Buffer | null;
          while ((c = socket.read() as Buffer | null) !== null) replay += c.toString("latin1");
          if (replay.length >= total) resolve({ decision: proto, replay });
        };
        socket.on("readable", read);
        read();
      });
    });
    for (const c of chunks) {
      client.write(c);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (opts.end) client.end();
    const r = await result;
    client.destroy();
    socket.destroy();
    return r;
  } finally {
    server.close();
  }
}

const cases: Array<{ name: string; chunks: Buffer[]; end?: boolean; timeoutMs?: number; want: string }> = [
  { name: "full HTTP/2 preface in one write", chunks: [preface], want: "h2" },
  { name: "HTTP/2 preface one byte at a time", chunks: [...preface].map((b) => Buffer.from([b])), want: "h2" },
  { name: "HTTP/2 preface plus a SETTINGS frame", chunks: [Buffer.concat([preface, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])], want: "h2" },
  { name: "HTTP/1.1 GET", chunks: [Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")], want: "http/1.1" },
  { name: "HTTP/1.1 that starts like the preface (PRI…) then differs", chunks: [Buffer.from("PRI * HTTP/1.1\r\n\r\n")], want: "http/1.1" },
  { name: "HTTP/1.1 POST in tiny pieces", chunks: [Buffer.from("PO"), Buffer.from("ST /x HTTP/1.1\r\n\r\n")], want: "http/1.1" },
  { name: "silence → destroyed after the timeout", chunks: [], timeoutMs: 100, want: "destroyed" },
  { name: "partial preface then silence → destroyed", chunks: [preface.subarray(0, 12)], timeoutMs: 200, want: "destroyed" },
  { name: "partial preface then FIN → destroyed", chunks: [preface.subarray(0, 12)], end: true, want: "destroyed" },
  { name: "immediate FIN → destroyed", chunks: [], end: true, want: "destroyed" },
];

for (const c of cases) {
  test(`sniffProtocol: ${c.name}`, async () => {
    const { decision, replay } = await sniff(c.chunks, { timeoutMs: c.timeoutMs, end: c.end });
    assert.equal(decision, c.want);
    if (decision !== "destroyed") {
      assert.equal(replay, Buffer.concat(c.chunks).toString("latin1"), "every sniffed byte is handed on, in order");
    }
  });
}
