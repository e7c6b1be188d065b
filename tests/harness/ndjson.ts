/** Reads newline-delimited JSON from a fetch response body, one parsed line at a time. */
export function ndjsonReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  return {
    /** The next line, parsed; undefined at the end of the body. */
    async next(): Promise<Record<string, unknown> | undefined> {
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          return JSON.parse(line) as Record<string, unknown>;
        }
        const { done, value } = await reader.read();
        if (done) {
          if (buffered.trim() !== "") throw new Error(`unterminated last line: ${buffered}`);
          return undefined;
        }
        buffered += decoder.decode(value, { stream: true });
      }
    },
    /** Every remaining line. */
    async rest(): Promise<Record<string, unknown>[]> {
      const out: Record<string, unknown>[] = [];
      for (let l = await this.next(); l !== undefined; l = await this.next()) out.push(l);
      return out;
    },
  };
}
