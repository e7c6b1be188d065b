import { create, type DescMessage, type DescMethodClientStreaming, type DescMethodServerStreaming, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";

/**
 * Calls a client-streaming RPC with exactly one request message from a
 * browser.
 *
 * Browsers cannot stream a request body, so connect-web refuses
 * client-streaming methods. But on the wire (Connect streaming and gRPC-Web)
 * a client stream of ONE message is the same request as a server-streaming
 * call's: one enveloped message in the body, and the response is a stream
 * of enveloped messages. So we send it through the transport's
 * server-streaming path (same URL, same content type) and expect exactly one
 * response message. Used to edit an order with UpdateOrders.
 */
export async function callClientStreamingOnce<I extends DescMessage, O extends DescMessage>(
  transport: Transport,
  method: DescMethodClientStreaming<I, O>,
  message: MessageInitShape<I>,
  options: { signal?: AbortSignal; headers?: HeadersInit } = {},
): Promise<MessageShape<O>> {
  const asServerStreaming = { ...method, methodKind: "server_streaming" } as unknown as DescMethodServerStreaming<I, O>;
  const request = create(method.input, message);
  const res = await transport.stream(
    asServerStreaming,
    options.signal,
    undefined,
    options.headers,
    (async function* () {
      yield request;
    })(),
    undefined,
  );
  let response: MessageShape<O> | undefined;
  for await (const m of res.message) {
    if (response !== undefined) throw new ConnectError("protocol error: more than one response message", Code.Internal);
    response = m;
  }
  if (response === undefined) throw new ConnectError("protocol error: missing response message", Code.Internal);
  return response;
}
