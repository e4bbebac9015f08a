#!/usr/bin/env node
// Browser test of the npm package under faults and long use (run by `make test-web` on the built
// site), in headless Chromium with WebGPU (SwiftShader) against a request-counting server, one
// page's life. A whole model's load on WebGPU runs the Enformer trunk over 196,608 bp in its
// warm-up, minutes on SwiftShader here, so only one such load is made: the weight-cache faults
// (worker and Cache API, the same on every backend) load on the CPU backend, and the device loss
// uses a low-memory model (no warm-up; its prediction runs the trunk, where the loss lands).
//   1. a download cut in the middle of a shard: the load fails with NETWORK_ERROR; after a reload
//      the shards verified before come from the Cache API (no request), the cut one is fetched
//      again, the model loads and predicts; nothing unverified is ever cached;
//   2. the storage quota reached in the middle of a load (Cache.put rejecting with
//      QuotaExceededError after a few entries): the load finishes without the cache, with one
//      warning through onWarning, and the cache holds only what was stored before;
//   3. two pages of one browser context loading the same model at once on an empty cache: both
//      predict, and the cache then holds each shard once, every entry's SHA-256 its manifest's;
//   4. the GPU device lost while a prediction with DNA runs: that prediction rejects with
//      DEVICE_LOST, the page keeps working, a fresh load (WebGPU) predicts;
//   5. 100 predictions in a row on it, of varying lengths: the worker's wasm memory and Burn's
//      device memory pool do not grow when the second 50 repeat the first 50's inputs; dispose() gives the
//      device memory back (Burn's pool counters) and a new model loads and computes as before.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, inPage, launchChromium, maxRelativeDifference, newPage, staticServer, testPaths } from "./harness.mjs";

const site = resolve(process.argv[2] ?? "www/dist");
const WEIGHTS = "/weights/isoformer-tiny-random/";
const CACHE_NAME = "isoformer-web-weights-v1";
const KEY_PREFIX = "/.isoformer-web-cache/sha256/";
const PROTEIN = "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSS";
const RNA = "AUGGCCCAGUCCACCGCCACCUCCCCUGAUGGGGGCACCACGUUUGAGCACCUCUGG";
const DNA = "GCCCTGCCTCCCCGCCCGCGCACCCGCCCGGAGGCTCGCGCGCCCGCGAAGGGGACGCAGCG";
// After this many successful Cache.put calls the quota is "reached": the index and the four
// manifests (5), then the DNA shard (6); the RNA shard's put fails, in the middle of the shards.
const PUTS_BEFORE_QUOTA = 6;

// What the cache may hold: each part's shards (by SHA-256) and the JSON documents (by path).
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const PARTS = ["dna", "rna", "protein", "aggregator"];
const shards = new Map(); // sha256 → { part, path, bytes }
const documents = new Map([[`${WEIGHTS}isoformer.json`, sha256(readFileSync(join(site, WEIGHTS, "isoformer.json")))]]);
for (const part of PARTS) {
  const path = `${WEIGHTS}${part}/manifest.json`;
  const text = readFileSync(join(site, path));
  documents.set(path, sha256(text));
  for (const file of JSON.parse(text).files) shards.set(file.sha256, { part, path: `${WEIGHTS}${part}/${file.name}`, bytes: file.bytes });
}
const shardOf = (part) => [...shards.values()].find((s) => s.part === part).path;

let cutNext = null; // a shard path whose next request is cut in the middle of its body
const server = await staticServer(site, {
  routes: {
    "/test.html": blankPage("faults test"),
    // The package's worker with Cache.put failing once the quota is "reached" (the cache runs in
    // the worker, where a page's init script does not reach): passed as `workerUrl`.
    "/quota-worker.js": (request, response) => Boolean(response.writeHead(200, { "content-type": "text/javascript" }).end(`import "/worker.js";
let puts = 0;
const put = Cache.prototype.put;
Cache.prototype.put = function (...args) {
  puts += 1;
  return puts > ${PUTS_BEFORE_QUOTA} ? Promise.reject(new DOMException("the storage quota is exceeded (simulated)", "QuotaExceededError")) : put.apply(this, args);
};
`)),
  },
  // The full Content-Length and half the body, then the connection dropped, as a cut network does.
  intercept: (request, response, url) => {
    if (url.pathname !== cutNext) return false;
    cutNext = null;
    const bytes = readFileSync(join(site, url.pathname));
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
    response.write(bytes.subarray(0, bytes.length >> 1), () => request.socket.destroy());
    return true;
  },
});
const shardRequests = (from, part) => server.requests.slice(from).filter((r) => r.path === shardOf(part)).length;

// Every entry of the weight cache, with the SHA-256 of its body (computed in the page).
const cacheEntries = (page) =>
  page.evaluate(async (name) => {
    if (!(await caches.has(name))) return [];
    const store = await caches.open(name);
    const entries = [];
    for (const request of await store.keys()) {
      const body = await (await store.match(request)).arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
      entries.push({ path: new URL(request.url).pathname, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""), bytes: body.byteLength });
    }
    return entries;
  }, CACHE_NAME);

// Checks that every cached entry holds verified content, each once; returns the parts whose shards are cached.
function verifiedParts(entries, when) {
  const paths = entries.map((e) => e.path);
  assert.equal(new Set(paths).size, paths.length, `${when}: each entry once (${paths})`);
  const parts = [];
  for (const entry of entries) {
    if (entry.path.startsWith(KEY_PREFIX)) {
      const key = entry.path.slice(KEY_PREFIX.length);
      const shard = shards.get(key);
      assert.ok(shard, `${when}: ${entry.path} is a shard of the model`);
      assert.equal(entry.sha256, key, `${when}: the cached ${shard.path} holds the bytes its manifest lists`);
      assert.equal(entry.bytes, shard.bytes);
      parts.push(shard.part);
    } else {
      assert.equal(entry.sha256, documents.get(entry.path), `${when}: ${entry.path} cached as served`);
    }
  }
  return PARTS.filter((p) => parts.includes(p));
}

const clearCache = (page) => page.evaluate((name) => caches.delete(name), CACHE_NAME);
// Each section's duration, printed (never asserted).
const started = performance.now();
const laps = [];
let lapStart = started;
const lap = (name) => {
  const now = performance.now();
  laps.push(`${name} ${((now - lapStart) / 1000).toFixed(0)} s`);
  lapStart = now;
};
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const page = await newPage(context, "faults");
  await page.goto(`${server.origin}/test.html`);
  await clearCache(page);

  // 1. A shard cut mid-body: NETWORK_ERROR, only verified shards cached; a reload resumes from the cache.
  cutNext = shardOf("protein");
  const beforeCut = server.requests.length;
  const cut = await inPage(page, async (IsoFormer, { weights }) => {
    await IsoFormer.load({ weights, device: "cpu" });
    return { loaded: true };
  }, { weights: WEIGHTS });
  assert.equal(cut.error, "NETWORK_ERROR", `a cut download is a typed error: ${JSON.stringify(cut)}`);
  assert.equal(cutNext, null, "the protein shard was requested and cut");
  assert.deepEqual(PARTS.map((p) => shardRequests(beforeCut, p)), [1, 1, 1, 0], "DNA, RNA, then the cut protein shard; the aggregator never");
  assert.deepEqual(verifiedParts(await cacheEntries(page), "after the cut"), ["dna", "rna"], "the shards verified before the cut are cached, the cut one is not");

  await page.reload();
  const beforeReload = server.requests.length;
  const resumed = await inPage(page, async (IsoFormer, { weights, protein }) => {
    const model = await IsoFormer.load({ weights, device: "cpu" });
    const values = Array.from((await model.predict({ protein })).values);
    await model.dispose();
    return { values };
  }, { weights: WEIGHTS, protein: PROTEIN });
  assert.equal(resumed.error, undefined, `${resumed.error}: ${resumed.message}`);
  assert.deepEqual(PARTS.map((p) => shardRequests(beforeReload, p)), [0, 0, 1, 1], "after the reload: DNA and RNA from the cache, the cut shard and the rest fetched");
  assert.equal(resumed.values.length, 30);
  assert.ok(resumed.values.every(Number.isFinite));
  assert.deepEqual(verifiedParts(await cacheEntries(page), "after the reload"), PARTS);
  const reference = resumed.values;
  lap("cut download and reload");

  // 2. The storage quota reached in the middle of a load (on an empty cache).
  await clearCache(page);
  const quota = await inPage(page, async (IsoFormer, { weights, protein }) => {
    const warnings = [];
    const model = await IsoFormer.load({ weights, device: "cpu", workerUrl: "/quota-worker.js", onWarning: (w) => warnings.push(w) });
    const values = Array.from((await model.predict({ protein })).values);
    await model.dispose();
    return { warnings, values };
  }, { weights: WEIGHTS, protein: PROTEIN });
  assert.equal(quota.error, undefined, `${quota.error}: ${quota.message}`);
  assert.deepEqual(quota.values, reference, "the load finishes without the cache and predicts as before");
  assert.equal(quota.warnings.length, 1, `one warning: ${quota.warnings.join("; ")}`);
  assert.match(quota.warnings[0], /QuotaExceededError.*without the cache/);
  const quotaEntries = await cacheEntries(page);
  assert.deepEqual(verifiedParts(quotaEntries, "after the quota"), ["dna"], "the shards stored before the quota was reached, and no more");
  assert.equal(quotaEntries.length, PUTS_BEFORE_QUOTA);
  lap("quota");

  // 3. Two pages of one context loading the same model at once, on an empty cache.
  await clearCache(page);
  const other = await newPage(context, "second page");
  await other.goto(`${server.origin}/test.html`);
  const beforeBoth = server.requests.length;
  const both = await Promise.all([page, other].map((p) => inPage(p, async (IsoFormer, { weights, protein }) => {
    const model = await IsoFormer.load({ weights, device: "cpu" });
    const values = Array.from((await model.predict({ protein })).values);
    await model.dispose();
    return { values };
  }, { weights: WEIGHTS, protein: PROTEIN })));
  for (const result of both) {
    assert.equal(result.error, undefined, `${result.error}: ${result.message}`);
    assert.deepEqual(result.values, reference, "each page predicts as a lone load does");
  }
  assert.deepEqual(verifiedParts(await cacheEntries(page), "after two loads at once"), PARTS, "each shard cached once, with its manifest's SHA-256");
  const fetchedTwice = PARTS.filter((p) => shardRequests(beforeBoth, p) === 2).length;
  await other.close();
  lap("two pages at once");

  // 4. The device lost in the middle of a prediction with DNA. Low-memory mode: the load makes the
  //    device and nothing else; the prediction fetches the DNA part (from the cache), reports its
  //    upload, then runs the trunk for minutes: the loss is sent once the upload is reported.
  const lost = await inPage(page, async (IsoFormer, { weights, dna, protein }) => {
    const { loseDevice } = await import("/testing.js");
    let uploaded;
    const dnaUploaded = new Promise((resolve) => (uploaded = resolve));
    const onProgress = (e) => e.stage === "upload" && e.file.startsWith("enformer") && uploaded();
    const model = await IsoFormer.load({ weights, device: "webgpu", lowMemory: true, onProgress });
    const running = model.predict({ dna }).then(() => "resolved", (e) => e.code);
    await Promise.race([dnaUploaded, running]); // (a prediction failing early leaves nothing to interrupt: the hook says so)
    const hook = await loseDevice(model);
    const prediction = await running;
    const later = await model.predict({ protein }).then(() => "resolved", (e) => e.code);
    // A fresh load: a whole model on a new device (the one load whose warm-up runs the trunk).
    const fresh = await IsoFormer.load({ weights, device: "webgpu" });
    globalThis.faultsModel = fresh;
    const values = Array.from((await fresh.predict({ protein })).values);
    return { hook, prediction, later, title: document.title, values, backend: fresh.info.backend };
  }, { weights: WEIGHTS, dna: DNA, protein: PROTEIN });
  assert.equal(lost.error, undefined, `${lost.error}: ${lost.message}`);
  assert.deepEqual(lost.hook, { running: "predict" }, "the device was destroyed while the prediction ran");
  assert.equal(lost.prediction, "DEVICE_LOST", "the running prediction rejects with DEVICE_LOST");
  assert.equal(lost.later, "DEVICE_LOST");
  assert.equal(lost.title, "faults test", "the page keeps working");
  assert.equal(lost.backend, "webgpu");
  const gpuDifference = maxRelativeDifference(lost.values, reference);
  console.log(`faults: a fresh load on WebGPU against the CPU: ${gpuDifference.toExponential(2)} of the scale`);
  // (measured 5.1e-7)
  assert.ok(gpuDifference <= 1e-5, `a fresh load on WebGPU predicts as the CPU did (${gpuDifference} of the scale)`);
  lap("device lost, fresh load");

  // 5. Long use: 100 predictions without DNA (a protein or an RNA; lengths cycling through 10
  //    shapes over 2 of the GPU's 64-token padding buckets per encoder, shifted a little every
  //    round), memory read after each; then dispose().
  const long = await inPage(page, async (IsoFormer, { weights, protein, rna }) => {
    const model = globalThis.faultsModel;
    const repeat = (unit, length) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
    const shapes = [["protein", 12], ["rna", 60], ["protein", 35], ["rna", 150], ["protein", 58], ["rna", 300], ["protein", 75], ["rna", 400], ["protein", 110], ["rna", 500]];
    const readings = [await model.memoryUsage()];
    const times = [];
    for (let i = 0; i < 100; i++) {
      const [kind, length] = shapes[i % shapes.length];
      const shift = Math.floor(i / shapes.length) % 5;
      const inputs = { [kind]: repeat(kind === "protein" ? protein : rna, length + shift) };
      const t = performance.now();
      const { values } = await model.predict(inputs);
      times.push(performance.now() - t);
      if (!values.every(Number.isFinite)) throw new Error(`prediction ${i}: non-finite values`);
      readings.push(await model.memoryUsage());
    }
    const embedding = Array.from((await model.embed("protein", protein)).data);
    const disposed = await model.dispose();
    // A new model on a new device (low-memory: no warm-up; the embedding runs ESM-2 alone).
    const next = await IsoFormer.load({ weights, device: "webgpu", lowMemory: true });
    const again = Array.from((await next.embed("protein", protein)).data);
    await next.dispose();
    return { readings, times, disposed, embedding, again };
  }, { weights: WEIGHTS, protein: PROTEIN, rna: RNA });
  assert.equal(long.error, undefined, `${long.error}: ${long.message}`);
  const { readings, disposed } = long;
  assert.equal(readings.length, 101);
  assert.ok(readings.every((r) => r.wasmBytes > 0 && r.deviceBytesReserved > 0), "every reading has the wasm heap and the device pool");
  const max = (from, to, key) => Math.max(...readings.slice(from, to).map((r) => r[key]));
  // Reading i is after prediction i. The lengths' shift cycles over 5 rounds, so predictions 51–100
  // repeat 1–50 exactly: a first-seen input may allocate once (a kernel's small buffer), in the
  // first half; anything still growing in the second, on the same inputs again, is a leak.
  const firstHalf = { wasm: max(0, 51, "wasmBytes"), reserved: max(0, 51, "deviceBytesReserved"), inUse: max(0, 51, "deviceBytesInUse") };
  const secondHalf = { wasm: max(51, 101, "wasmBytes"), reserved: max(51, 101, "deviceBytesReserved"), inUse: max(51, 101, "deviceBytesInUse") };
  const median = [...long.times].sort((a, b) => a - b)[50];
  console.log(`faults: long use: 100 predictions, median ${median.toFixed(0)} ms; wasm ${readings[0].wasmBytes} → ${readings[10].wasmBytes} (after 10) → ${readings[100].wasmBytes} bytes (max ${firstHalf.wasm} over 1–50, ${secondHalf.wasm} over 51–100); ` +
    `device in use ${readings[0].deviceBytesInUse} → ${readings[10].deviceBytesInUse} → ${readings[100].deviceBytesInUse} (max ${firstHalf.inUse} over predictions 1–50, ${secondHalf.inUse} over 51–100), ` +
    `reserved ${readings[0].deviceBytesReserved} → ${readings[10].deviceBytesReserved} → ${readings[100].deviceBytesReserved} (max ${firstHalf.reserved} over 1–50, ${secondHalf.reserved} over 51–100); ` +
    `after dispose(): in use ${disposed?.deviceBytesInUse}, reserved ${disposed?.deviceBytesReserved}`);
  writeFileSync(join(testPaths().outDir, "faults_memory.json"), JSON.stringify({ readings, times: long.times, disposed }, null, 1));
  // Bounds on the repeat: the wasm heap may still grow by a little (allocator fragmentation),
  // Burn's device pool not at all, nor the bytes in use between calls (the model, and what the
  // first half's inputs left, a few KiB).
  const WASM_SLACK = 4 << 20;
  assert.ok(secondHalf.wasm <= firstHalf.wasm + WASM_SLACK, `wasm memory grew on repeated inputs: ${firstHalf.wasm} → ${secondHalf.wasm} bytes`);
  assert.ok(secondHalf.reserved <= firstHalf.reserved, `the device pool grew on repeated inputs: ${firstHalf.reserved} → ${secondHalf.reserved} bytes`);
  assert.ok(secondHalf.inUse <= firstHalf.inUse, `device memory in use grew on repeated inputs: ${firstHalf.inUse} → ${secondHalf.inUse} bytes`);
  assert.ok(disposed, "dispose() gives the memory reading taken once the model was freed");
  assert.equal(disposed.deviceBytesInUse, 0, "after dispose() nothing is in use in Burn's pool");
  assert.ok(disposed.deviceBytesReserved < readings[0].deviceBytesInUse, `dispose() hands the pool's pages back: ${disposed.deviceBytesReserved} bytes still reserved`);
  const embedDifference = maxRelativeDifference(long.again, long.embedding);
  assert.ok(embedDifference <= 1e-6, `a new model after dispose() computes as the disposed one did (${embedDifference})`);
  lap("long use");
  console.log(`faults: ok (${((performance.now() - started) / 1000).toFixed(0)} s: ${laps.join(", ")}; ${server.requests.length} requests; two pages at once fetched ${fetchedTwice} of 4 shards twice)`);
} finally {
  await browser.close();
  server.close();
}
