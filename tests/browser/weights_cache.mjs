#!/usr/bin/env node
// Browser test of weight loading (run by `make test-web` after `make wasm`): headless Chromium
// (Debian's, through playwright-core) on WebGPU loads the tiny ESM-2 from a local static server
// that counts requests, through www/weights-cache.js:
//   1. the progress events come in order: the total first, then download/upload per shard, warm-up, ready;
//   2. a second load makes no shard request (the Cache API, keyed by SHA-256);
//   3. a corrupted cache entry is caught by its SHA-256, fetched again and the model still loads;
//   4. a shard corrupted on the server is refused (WEIGHTS_CORRUPT) and never cached;
//   5. the cache can be listed and emptied;
//   6. IsoformerModel.load on an IsoFormer directory fetches only the parts asked for, announces
//      their total first, and predicts; in low-memory mode (one part at a time, fetched per
//      prediction through the cache) it predicts the same values.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, launchChromium, maxRelativeDifference, newPage, staticServer } from "./harness.mjs";

const site = resolve(process.argv[2] ?? "www/dist");
// /corrupt/<path>: the file with one byte flipped in the middle.
const server = await staticServer(site, {
  routes: {
    "/test.html": blankPage("weights cache test"),
  },
  rewrite: (pathname) => pathname.replace(/^\/corrupt\//, "/"),
  transform: (path, bytes, url) => {
    if (url.pathname.startsWith("/corrupt/") && path.endsWith(".safetensors")) bytes[bytes.length >> 1] ^= 0x40;
    return bytes;
  },
});
const requests = server.requests;
const origin = server.origin;
const browser = await launchChromium();
const shardRequests = () => requests.filter((r) => r.path.endsWith(".safetensors")).length;
try {
  const page = await newPage(browser);
  await page.goto(`${origin}/test.html`);
  const weights = "/weights/isoformer-tiny-random/protein/";
  const manifest = JSON.parse(await readFile(join(site, weights, "manifest.json"), "utf8"));
  const totalBytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);

  const load = (base) => page.evaluate(async (base) => {
    const { default: init, EncoderModel } = await import("/pkg/isoformer.js");
    const { cachedFetch } = await import("/weights-cache.js");
    await init();
    const events = [];
    const warnings = [];
    const onProgress = (event) => events.push({ ...event });
    try {
      const model = await EncoderModel.load(base, { fetch: cachedFetch({ onWarning: (w) => warnings.push(w) }), onProgress });
      const { data } = await model.embedProtein("MKTAYIAKQRQISFVKSHFSRQ");
      return { events, warnings, sum: Array.from(data).reduce((a, b) => a + b, 0) };
    } catch (error) {
      return { events, warnings, error: error.code ?? String(error) };
    }
  }, base);

  const first = await load(weights);
  assert.equal(first.error, undefined, `first load: ${first.error}`);
  const stages = first.events.map((e) => e.stage);
  assert.equal(stages[0], "manifest");
  assert.equal(first.events[0].total, totalBytes, "the total is announced before any shard");
  assert.equal(first.events[0].loaded, 0);
  assert.deepEqual(stages.slice(1), [...manifest.files.flatMap(() => ["download", "verify", "upload"]), "warm-up", "ready"]);
  assert.equal(first.events.at(-1).loaded, totalBytes);
  assert.equal(shardRequests(), manifest.files.length);

  const second = await load(weights);
  assert.equal(second.error, undefined);
  assert.equal(shardRequests(), manifest.files.length, "the second load is served from the cache");
  assert.equal(second.sum, first.sum);

  // Corrupt the cached entry in place: it must be caught, dropped and fetched again.
  await page.evaluate(async (sha) => {
    const cache = await caches.open("isoformer-web-weights-v1");
    const key = new URL("/.isoformer-web-cache/sha256/" + sha, location.origin).href;
    const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    bytes[bytes.length >> 1] ^= 0x40;
    await cache.put(key, new Response(bytes));
  }, manifest.files[0].sha256);
  const third = await load(weights);
  assert.equal(third.error, undefined);
  assert.ok(third.warnings.some((w) => w.includes("corrupt")), JSON.stringify(third.warnings));
  assert.equal(shardRequests(), manifest.files.length + 1, "the corrupt entry is fetched again");
  assert.equal(third.sum, first.sum);

  // A shard corrupted on the way: refused with a typed error, and not cached.
  await page.evaluate(async () => (await import("/weights-cache.js")).deleteCachedWeights());
  const corrupt = await load("/corrupt" + weights);
  assert.equal(corrupt.error, "WEIGHTS_CORRUPT");
  const listed = await page.evaluate(async () => (await import("/weights-cache.js")).listCachedWeights());
  assert.deepEqual(listed, [], "corrupt bytes are never cached");

  await load(weights);
  const cached = await page.evaluate(async () => (await import("/weights-cache.js")).listCachedWeights());
  assert.deepEqual(cached.map((e) => e.sha256).sort(), manifest.files.map((f) => f.sha256).sort());
  assert.equal(await page.evaluate(async () => (await import("/weights-cache.js")).deleteCachedWeights()), manifest.files.length);
  const before = requests.length;
  const isoformer = await page.evaluate(async () => {
    const { default: init, IsoformerModel, EncoderModel } = await import("/pkg/isoformer.js");
    const { cachedFetch } = await import("/weights-cache.js");
    await init();
    const events = [];
    // On the CPU: the loader's logic is the same on every device, and on SwiftShader each load's
    // absent-DNA pass (Enformer over 196,608 bp) takes minutes.
    const model = await IsoformerModel.load("/weights/isoformer-tiny-random/", { modalities: ["protein"], device: "cpu", fetch: cachedFetch(), onProgress: (e) => events.push({ ...e }) });
    const inputs = { protein: "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSS" };
    const prediction = await model.predict(inputs);
    const lowMemory = await IsoformerModel.load("/weights/isoformer-tiny-random/", { modalities: ["protein"], device: "cpu", fetch: cachedFetch(), lowMemory: true });
    const partByPart = await lowMemory.predict(inputs);
    // Load options are read like every call's: a misspelt key or a wrong type is an error, not ignored.
    const codeOf = (promise) => promise.then(() => "resolved", (e) => e.code);
    const misspelt = await codeOf(IsoformerModel.load("/weights/isoformer-tiny-random/", { modalitie: ["protein"], fetch: cachedFetch() }));
    const wrongType = await codeOf(IsoformerModel.load("/weights/isoformer-tiny-random/", { lowMemory: "yes", fetch: cachedFetch() }));
    const encoderLowMemory = await codeOf(EncoderModel.load("/weights/isoformer-tiny-random/protein/", { lowMemory: true }));
    return { misspelt, wrongType, encoderLowMemory, events, modalities: model.modalities, tissues: prediction.tissues.length, values: Array.from(prediction.values), random: prediction.randomWeights,
             lowMemoryInfo: lowMemory.info, lowMemoryModalities: lowMemory.modalities, lowMemoryValues: Array.from(partByPart.values), lowMemoryRandom: partByPart.randomWeights };
  });
  const fetched = requests.slice(before).map((r) => r.path);
  assert.ok(!fetched.some((p) => p.includes("/rna/")), `no RNA part is fetched: ${fetched}`);
  assert.ok(fetched.some((p) => p.includes("/protein/")) && fetched.some((p) => p.includes("/dna/")) && fetched.some((p) => p.includes("/aggregator/")));
  const partBytes = async (part) => JSON.parse(await readFile(join(site, "weights/isoformer-tiny-random", part, "manifest.json"), "utf8")).files.reduce((s, f) => s + f.bytes, 0);
  const expectedTotal = (await partBytes("dna")) + (await partBytes("protein")) + (await partBytes("aggregator"));
  assert.equal(isoformer.events[0].stage, "manifest");
  assert.equal(isoformer.events[0].total, expectedTotal);
  assert.deepEqual(isoformer.events.slice(-2).map((e) => e.stage), ["warm-up", "ready"]);
  assert.deepEqual(isoformer.modalities, ["dna", "protein"]);
  assert.equal(isoformer.tissues, 30);
  assert.ok(isoformer.random && isoformer.values.every(Number.isFinite));
  assert.equal(isoformer.lowMemoryInfo.lowMemory, true);
  assert.deepEqual(isoformer.lowMemoryModalities, ["dna", "protein"]);
  assert.ok(isoformer.lowMemoryRandom);
  const difference = maxRelativeDifference(isoformer.lowMemoryValues, isoformer.values);
  assert.ok(difference <= 1e-5, `low-memory values differ by ${difference} of the values' scale`);
  assert.deepEqual([isoformer.misspelt, isoformer.wrongType, isoformer.encoderLowMemory], ["INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT"]);

  console.log(`weights_cache: ok (${requests.length} requests, ${manifest.files.length} shard(s))`);
} finally {
  await browser.close();
  server.close();
}
