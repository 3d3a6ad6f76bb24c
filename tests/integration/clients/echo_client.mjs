// Calls Bia's echo.v1.Echo service with the real Connect-ES clients and prints what it saw as
// one JSON object, for tests/integration/tests/gateway_connect.rs to check.
//
//   node echo_client.mjs BASE_URL DESCRIPTOR_SET PROTOCOL HTTP_VERSION FORMAT
//
// PROTOCOL is connect or grpc-web, HTTP_VERSION 1.1 or 2, FORMAT binary or json. The messages
// are built at run time from the descriptor set the Rust build wrote, so no code is generated.
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

const [baseUrl, descriptorPath, protocol, httpVersion, format] = process.argv.slice(2);
if (!format) {
  console.error("usage: node echo_client.mjs BASE_URL DESCRIPTOR_SET connect|grpc-web 1.1|2 binary|json");
  process.exit(2);
}

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorPath)));
const Echo = registry.getService("echo.v1.Echo");
const options = {
  baseUrl,
  httpVersion,
  useBinaryFormat: format === "binary",
  jsonOptions: { registry },
};
const transport =
  protocol === "connect"
    ? createConnectTransport({ ...options, useHttpGet: true, sendCompression: undefined })
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
console.log(JSON.stringify(result));
