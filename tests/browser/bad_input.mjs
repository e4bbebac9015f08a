#!/usr/bin/env node
// Browser test of the bad-input table (tests/fixtures/bad_input.json; run by `make test-web`):
// every kind with an API case, through the npm package (index.js → worker → wasm) in headless
// Chromium, rejects with an IsoFormerError of its code — never an untyped error, a worker crash or
// a hang. Calls run on one tiny IsoFormer loaded once; loads of broken weight directories run
// against this server's edited copies of the site's tiny weights (HTML instead of JSON, 404, 500,
// truncated files, parts and shards named outside their directory, shards of the wrong size or
// hash), and none of them may make a request outside its own directory. Everything runs on Burn's
// CPU backend: every case fails before the model computes, and the load's warm-up (one Enformer
// pass for absent DNA) takes minutes on SwiftShader's WebGPU. The CLI's side is tests/bad_input.rs.
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { normalize, resolve, sep } from "node:path";
import assert from "node:assert/strict";
import { blankPage, launchChromium, newPage, staticServer } from "./harness.mjs";

const site = resolve(process.argv[2] ?? "www/dist");
const root = resolve(import.meta.dirname, "../..");
const table = JSON.parse(readFileSync(resolve(root, "tests/fixtures/bad_input.json"), "utf8"));
const TINY = "/weights/isoformer-tiny-random/";
const tinyDir = resolve(site, `.${TINY}`);
// Only a hang reaches this: no case takes a fraction of it (a guard, not a measure).
const HANG_GUARD_MS = 120_000;

// `{"$file": path}` is read here; the page expands the rest (long texts, NaN, functions).
const withFiles = (value) => {
  if (Array.isArray(value)) return value.map(withFiles);
  if (value && typeof value === "object") {
    if (typeof value.$file === "string") return readFileSync(resolve(root, value.$file), "utf8");
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withFiles(v)]));
  }
  return value;
};

const cases = table.kinds.filter((kind) => kind.api).map((kind) => ({ ...kind, api: withFiles(kind.api) }));
assert.ok(cases.length >= 40, `${cases.length} API cases`);
const byName = new Map(cases.map((kind) => [kind.name, kind]));

// A JSON pointer's target replaced (the edits' `set`).
function setPointer(document, pointer, value) {
  const keys = pointer.split("/").slice(1).map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = keys.pop();
  const parent = keys.reduce((node, key) => node[key], document);
  assert.ok(parent && last in parent, `${pointer} is in the document`);
  parent[last] = value;
}

// `/bad/<kind>/<path>`: the tiny weights' file at <path> as the kind's edits change it.
async function serveEdited(kind, path, request, response) {
  const file = normalize(resolve(tinyDir, path));
  const edits = (kind?.api.weights ?? []).filter((e) => file === resolve(tinyDir, e.file) || file.startsWith(resolve(tinyDir, e.file) + sep));
  if (!kind || !file.startsWith(tinyDir + sep) || edits.some((e) => e.remove)) return response.writeHead(404).end();
  const status = edits.find((e) => e.status)?.status;
  if (status) return response.writeHead(status, { "content-type": "text/plain" }).end(`status ${status}`);
  let bytes;
  try {
    bytes = await readFile(file);
  } catch {
    return response.writeHead(404).end();
  }
  let type = file.endsWith(".json") ? "application/json" : "application/octet-stream";
  for (const edit of edits) {
    if (edit.html) [bytes, type] = [Buffer.from(table.html_page), "text/html"];
    else if (edit.text !== undefined) bytes = Buffer.from(edit.text);
    else if (edit.truncate !== undefined) bytes = bytes.subarray(0, edit.truncate);
    else if (edit.flip !== undefined) {
      bytes = Buffer.from(bytes);
      bytes[edit.flip] ^= 0xff;
    }
    else if (edit.set) {
      const document = JSON.parse(bytes.toString("utf8"));
      for (const [pointer, value] of Object.entries(edit.set)) setPointer(document, pointer, value);
      bytes = Buffer.from(JSON.stringify(document));
    }
  }
  response.writeHead(200, { "content-type": type }).end(request.method === "HEAD" ? undefined : bytes);
}

const server = await staticServer(site, {
  routes: { "/test.html": blankPage("bad input") },
  intercept: (request, response, url) => {
    const match = /^\/bad\/([^/]+)\/(.*)$/.exec(url.pathname);
    if (!match) return false;
    serveEdited(byName.get(match[1]), decodeURIComponent(match[2]), request, response);
    return true;
  },
});

// In the page: the table's values expanded, one case run; resolves to { code, name, message } or
// { resolved: true }. The model for calls is loaded once (window.badInputModel).
const runCase = async ({ api, weights, tiny }) => {
  const { IsoFormer } = await import("/index.js");
  const expand = (value) => {
    if (typeof value === "string") return value.replaceAll("{weights}", weights).replaceAll("{tiny}", tiny);
    if (Array.isArray(value)) return value.map(expand);
    if (!value || typeof value !== "object") return value;
    if (value.$text) return `${value.$text.prefix ?? ""}${value.$text.repeat.repeat(value.$text.times)}${value.$text.suffix ?? ""}`;
    if (value.$number) return Number(value.$number);
    if (value.$function) return () => "a function";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]));
  };
  const args = expand(api.args);
  try {
    if (api.call === "load") {
      // Nothing of a broken directory is cached (cases stay independent); the CPU needs no GPU device.
      const model = await IsoFormer.load({ cache: false, device: "cpu", ...args[0] });
      await model.dispose();
    } else {
      await window.badInputModel[api.call](...args);
    }
    return { resolved: true };
  } catch (error) {
    return { code: error?.code, name: error?.name, message: String(error?.message ?? error) };
  }
};

const browser = await launchChromium();
const failures = [];
try {
  const page = await newPage(browser, "bad-input");
  const uncaught = [];
  page.on("pageerror", (error) => uncaught.push(error.message));
  await page.goto(`${server.origin}/test.html`);
  const loaded = await page.evaluate(async (tiny) => {
    const { IsoFormer } = await import("/index.js");
    window.badInputModel = await IsoFormer.load({ weights: tiny, cache: false, device: "cpu" });
    return window.badInputModel.info.modalities;
  }, TINY);
  assert.deepEqual(loaded, ["dna", "rna", "protein"]);
  let hung = false;
  for (const kind of cases) {
    const expected = kind.api.code ?? kind.code;
    const firstRequest = server.requests.length;
    let timer;
    const hang = new Promise((answer) => (timer = setTimeout(() => answer({ hung: true }), HANG_GUARD_MS)));
    const result = await Promise.race([page.evaluate(runCase, { api: kind.api, weights: `/bad/${kind.name}/`, tiny: TINY }), hang]);
    clearTimeout(timer);
    if (result.hung) {
      failures.push(`${kind.name}: no answer within ${HANG_GUARD_MS} ms (a hang)`);
      hung = true;
      break; // the model is stuck: later calls would only wait behind it
    }
    if (result.resolved) failures.push(`${kind.name}: resolved, expected ${expected}`);
    else if (result.name !== "IsoFormerError" || result.code !== expected)
      failures.push(`${kind.name}: ${result.name} ${result.code}: ${result.message.slice(0, 300)} (expected ${expected})`);
    // A part or shard named outside its directory ("../x": /bad/x/…) is refused before anything
    // fetches it. (A request of an earlier case may still arrive: its fetches ran in parallel.)
    const strays = server.requests.slice(firstRequest).filter((r) => r.path.startsWith("/bad/") && !byName.has(r.path.split("/")[2]));
    if (strays.length) failures.push(`${kind.name}: requested outside its directory: ${strays.map((r) => r.path).join(", ")}`);
  }
  if (!hung) {
    // No case broke the model: the worker still answers (a panic ends it with WORKER_ERROR).
    const after = await page.evaluate(async () => (await window.badInputModel.predict({ protein: "MAQSTATSPDGG" })).values.length);
    if (after !== 30) failures.push(`after every case the model predicts ${after} values, not 30`);
  }
  failures.push(...uncaught.map((message) => `an uncaught error in the page: ${message}`));
} finally {
  await browser.close();
  server.close();
}
assert.deepEqual(failures, [], `${failures.length} of ${cases.length} API cases failed:\n${failures.join("\n")}`);
console.log(`bad_input: ok (${cases.length} API cases)`);
