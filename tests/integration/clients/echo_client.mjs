// Calls Bia's echo.v1.Echo service with the real Connect-ES clients and prints what it saw as
// one JSON object, for tests/integration/tests/gateway_connect.rs to check.
//
//   node echo_client.mjs BASE_URL DESCRIPTOR_SET PROTOCOL HTTP_VERSION FORMAT [gzip]
//
// PROTOCOL is connect or grpc-web, HTTP_VERSION 1.1 or 2, FORMAT binary or json; gzip sends
// every request message compressed (responses are always accepted in gzip). The messages
// are built at run time from the descriptor set the Rust build wrote, so no code is generated.
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { validateReadWriteMaxBytes } from "@connectrpc/connect/protocol";
import { createTransport as createConnectTransport } from "@connectrpc/connect/protocol-connect";
import { createTransport as createGrpcWebTransport } from "@connectrpc/connect/protocol-grpc-web";
import { compressionGzip, createNodeHttpClient, Http2SessionManager } from "@connectrpc/connect-node";

const [baseUrl, descriptorPath, protocol, httpVersion, format, compression] = process.argv.slice(2);
if (!format) {
  console.error(
    "usage: node echo_client.mjs BASE_URL DESCRIPTOR_SET connect|grpc-web 1.1|2 binary|json [gzip]",
  );
  process.exit(2);
}

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorPath)));
const Echo = registry.getService("echo.v1.Echo");

// connect-node's own HTTP client, wrapped to record the HTTP method of every request (so the
// test can see that Connect calls Say, which has no side effects, with GET).
const httpMethods = new Set();
const nodeClient =
  httpVersion === "2"
    ? createNodeHttpClient({ httpVersion: "2", sessionProvider: ((m) => () => m)(new Http2SessionManager(baseUrl)) })
    : createNodeHttpClient({ httpVersion: "1.1" });
const httpClient = (request) => {
  httpMethods.add(`${new URL(request.url).pathname.split("/").pop()} ${request.method}`);
  return nodeClient(request);
};
// What createConnectTransport / createGrpcWebTransport of connect-node set, with that client.
const options = {
  baseUrl,
  httpClient,
  useBinaryFormat: format === "binary",
  jsonOptions: { registry },
  interceptors: [],
  acceptCompression: [compressionGzip],
  sendCompression: compression === "gzip" ? compressionGzip : null,
  ...validateReadWriteMaxBytes(undefined, undefined, compression === "gzip" ? 0 : undefined),
};
const transport =
  protocol === "connect"
    ? createConnectTransport({ ...options, useHttpGet: true })
    : protocol === "grpc-web"
      ? createGrpcWebTransport(options)
      : null;
if (!transport) {
  console.error(`unknown protocol ${protocol}: use connect or grpc-web`);
  process.exit(2);
}
const client = createClient(Echo, transport);

// A failed call as plain data: Connect's code name, message, details and metadata.
function failure(err) {
  const e = ConnectError.from(err);
  return {
    code: Code[e.code],
    message: e.rawMessage,
    details: e.details.map((d) => ({ type: d.desc ? d.desc.typeName : d.type, debug: d.debug ?? null })),
  };
}

async function attempt(call) {
  try {
    return { ok: await call() };
  } catch (err) {
    return { error: failure(err) };
  }
}

async function* messages(...texts) {
  for (const message of texts) {
    yield { message };
  }
}

const result = {};
result.say = await attempt(async () => {
  const headers = {};
  const response = await client.say(
    { message: "hello" },
    {
      headers: { "x-request-id": "node-1" },
      onHeader: (h) => (headers.served_by = h.get("x-served-by")),
    },
  );
  return { message: response.message, served_by: headers.served_by ?? null };
});
result.missing = await attempt(() => client.say({ message: "missing" }));
result.deadline = await attempt(() => client.say({ message: "slow:2000" }, { timeoutMs: 200 }));
result.count = await attempt(async () => {
  const out = [];
  for await (const r of client.count({ message: "n", count: 3 })) out.push(r.message);
  return out;
});
result.count_missing = await attempt(async () => {
  for await (const _ of client.count({ message: "missing", count: 3 })) {
  }
});
if (protocol === "connect") {
  result.collect = await attempt(async () => (await client.collect(messages("a", "b", "c"))).message);
  result.collect_error = await attempt(async () => (await client.collect(messages("a", "missing"))).message);
  if (httpVersion === "2") {
    result.chat = await attempt(async () => {
      const out = [];
      for await (const r of client.chat(messages("x", "y"))) out.push(r.message);
      return out;
    });
  }
}
result.http_methods = [...httpMethods].sort();
console.log(JSON.stringify(result));
