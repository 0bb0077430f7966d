#!/usr/bin/env node
// The TypeScript SDK client of the gateway's interoperability tests
// (gateway.md §16, GW-96), driven step by step by tools/e2e's Go test.
//
// Usage: node flow.mjs <mcp-url> [<headers as a JSON object>]
//
// It reads one JSON command per line on stdin and answers each with one JSON
// line on stdout: {"ok": true, "result": ...} or {"ok": false, "error": "..."}.
// Commands:
//   {"op": "connect"}                                  initialize (StreamableHTTPClientTransport)
//   {"op": "listTools"}                                tools/list, every page
//   {"op": "callTool", "name": "...", "arguments": {}} tools/call, the result as received
//   {"op": "listChanged"}                              what the list-changed handler saw so far
//   {"op": "close"}                                    close the transport and exit
// The Go test does the admin's steps itself and asserts on these results.

import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, headersJSON] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node flow.mjs <mcp-url> [<headers JSON>]\n");
  process.exit(2);
}
const headers = headersJSON ? JSON.parse(headersJSON) : {};

// Every notifications/tools/list_changed makes the SDK re-list the tools and
// call this handler with them (or with the error of that listing).
const listChanged = [];
const client = new Client(
  { name: "mcpbox-e2e-ts", version: "1.0.0" },
  {
    listChanged: {
      tools: {
        onChanged: (error, tools) => {
          listChanged.push(error ? { error: String(error) } : { tools: (tools ?? []).map((t) => t.name) });
        },
      },
    },
  },
);
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });

const ops = {
  async connect() {
    await client.connect(transport);
    return {
      protocolVersion: transport.protocolVersion ?? null,
      sessionId: transport.sessionId ?? null,
      serverInfo: client.getServerVersion() ?? null,
      capabilities: client.getServerCapabilities() ?? null,
    };
  },
  async listTools() {
    const tools = [];
    let cursor;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return { tools };
  },
  async callTool(cmd) {
    return client.callTool({ name: cmd.name, arguments: cmd.arguments ?? {} });
  },
  async listChanged() {
    return { events: listChanged };
  },
  async close() {
    await transport.close();
    return {};
  },
};

const write = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    write({ ok: false, error: `not JSON: ${err}` });
    continue;
  }
  const op = ops[cmd.op];
  if (!op) {
    write({ ok: false, error: `unknown op ${cmd.op}` });
    continue;
  }
  try {
    write({ ok: true, result: await op(cmd) });
  } catch (err) {
    write({ ok: false, error: String(err?.stack ?? err) });
  }
  if (cmd.op === "close") break;
}
process.exit(0);
