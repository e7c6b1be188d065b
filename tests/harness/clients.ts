import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";

/** One row of the protocol matrix. */
export interface TransportCase {
  name: string;
  /** Whether client- and bidi-streaming calls are possible (HTTP/2 only). */
  fullDuplex: boolean;
  make(baseUrl: string): Transport;
}

/** Every protocol × encoding × HTTP version the server speaks. */
export const transportMatrix: TransportCase[] = [
  { name: "grpc h2c proto", fullDuplex: true, make: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "grpc h2c json", fullDuplex: true, make: (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: false }) },
  { name: "grpc-web http/1.1 proto", fullDuplex: false, make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "grpc-web h2c proto", fullDuplex: true, make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }) },
  { name: "connect http/1.1 json", fullDuplex: false, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }) },
  { name: "connect http/1.1 proto", fullDuplex: false, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }) },
  { name: "connect h2c json", fullDuplex: true, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false }) },
  { name: "connect h2c proto", fullDuplex: true, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }) },
];

/** A gRPC (h2c) client for a service. */
export function grpcClient<T extends DescService>(service: T, baseUrl: string): Client<T> {
  return createClient(service, createGrpcTransport({ baseUrl }));
}
