#!/usr/bin/env node
// Browser test of the npm package's API (www/index.js → worker → wasm), on the built site (run by
// `make test-web`), in headless Chromium on WebGPU and in one without WebGPU:
//   1. the error codes of index.js and index.d.ts are exactly those of src/error.rs plus the API's own;
//   2. IsoFormer.load on the tiny model: info, progress events, predict (protein, RNA + protein, all
//      three), embed (DNA's in 2b, on the CPU), calls issued together run one at a time and give
//      the values they give alone; a lost device rejects with DEVICE_LOST and the model can be loaded again;
//   3. typed errors: bad options, a bad residue, missing weights, an unavailable dtype, after
//      dispose(); `dtype: "q8"` loads the q8/ variant;
//   4. a load aborted before or during it rejects with ABORTED; a prediction aborted while it runs
//      (ABORTED, the model still usable); call options (RNA crop and token limit, IUPAC codes as
//      N), FASTA text, predictMany (DNA once, results as they finish, a bad transcript named), a
//      prediction aborted while queued, dispose() as a Promise and Symbol.asyncDispose; the package
//      started from another origin (a CDN: the worker through a blob module) and from `workerUrl`;
//      the parallel CPU fallback (encoders in helper workers) predicting as one worker, bit for bit,
//      and going on alone when a helper worker dies mid-call (predict and predictMany) or cannot start;
//      the weight cache offline and model ids. The API's own logic (options, queue, cache, origins)
//      runs on `device: "cpu"`: on SwiftShader every load costs an Enformer pass over 196,608 bp
//      (the absent-DNA embedding) and its shader compiles, minutes each; WebGPU keeps what is
//      WebGPU's (predict and embed, a lost device, an abort mid-pass, q8 kept quantized, fusion off);
//   5. in a Chromium without WebGPU, `device: "auto"` falls back to Burn's CPU backend in wasm (same
//      values within float tolerance, f32 and q8 — widened there, kept quantized on WebGPU) and
//      `device: "webgpu"` is NO_GPU.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, inPage, launchChromium, maxRelativeDifference, newPage, staticServer } from "./harness.mjs";

const site = resolve(process.argv[2] ?? "www/dist");
const root = resolve(import.meta.dirname, "../..");

// 1. Error codes: src/error.rs is the source of truth for the core's.
const errorRs = await readFile(resolve(root, "src/error.rs"), "utf8");
const coreCodes = [...errorRs.matchAll(/Error::\w+[^=\n]*=> "([A-Z_]+)",/g)].map((m) => m[1]);
assert.ok(coreCodes.length >= 15, `the codes of src/error.rs are found (${coreCodes})`);
// index.js touches browser globals only when a model is loaded, so node can import it.
const { CORE_ERROR_CODES, API_ERROR_CODES } = await import(resolve(site, "index.js"));
assert.deepEqual([...CORE_ERROR_CODES].sort(), [...coreCodes].sort(), "index.js CORE_ERROR_CODES = src/error.rs codes");
const dts = await readFile(resolve(site, "index.d.ts"), "utf8");
const union = (name) => [...dts.split(`export type ${name} =`)[1].split(";")[0].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]);
assert.deepEqual(union("CoreErrorCode").sort(), [...coreCodes].sort(), "index.d.ts CoreErrorCode = src/error.rs codes");
assert.deepEqual(union("ApiErrorCode").sort(), [...API_ERROR_CODES].sort(), "index.d.ts ApiErrorCode = index.js API_ERROR_CODES");

const server = await staticServer(site, { routes: { "/test.html": blankPage("package test") } });
const WEIGHTS = "/weights/isoformer-tiny-random/";
const PROTEIN = "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSS";
const RNA = "AUGGCCCAGUCCACCGCCACCUCCCCUGAUGGGGGCACCACGUUUGAGCACCUCUGG";
const DNA = "GCCCTGCCTCCCCGCCCGCGCACCCGCCCGGAGGCTCGCGCGCCCGCGAAGGGGACGCAGCG";


// Values from another model or backend against the WebGPU model's (or another call's): within
// CLOSE of their scale (the largest difference seen is logged at the end; measured ≤ 6.1e-7).
const CLOSE = 1e-5;
const seen = [];
const close = (values, reference, what) => {
  const worst = maxRelativeDifference(values, reference);
  seen.push([worst, what]);
  assert.ok(worst <= CLOSE, `${what}: the two differ by ${worst} of their scale`);
};

const browser = await launchChromium();
let webgpuFull;
let webgpuProteinOnly;
let q8OnWebgpu;
try {
  const page = await newPage(browser);
  await page.goto(`${server.origin}/test.html`);

  // 2. Load, predict, embed, serialized calls; then a lost device, and a fresh load.
  // (Each DNA pass is the slow part on SwiftShader: predictions without DNA reuse the model's
  // absent-DNA embedding, so most calls here skip the trunk.)
  const main = await inPage(page, async (IsoFormer, { weights, protein, rna, dna }) => {
    const events = [];
    const model = await IsoFormer.load({ weights, onProgress: (e) => events.push(e) });
    const stages = events.map((e) => e.stage);
    const badEvents = events.filter((e) => !Number.isFinite(e.loaded) || !Number.isFinite(e.total) || e.loaded > e.total
      || e.status !== e.stage || !(e.progress >= 0 && e.progress <= 100) || (e.stage === "download" && typeof e.file !== "string"));
    const lastProgress = events.at(-1).progress;
    const progressNeverFalls = events.every((e, i) => i === 0 || e.progress >= events[i - 1].progress);
    const proteinOnly = await model.predict({ protein });
    const rnaProtein = await model.predict({ rna, protein });
    const fullStarted = performance.now();
    const full = await model.predict({ dna, rna, protein });
    const fullMs = performance.now() - fullStarted;
    const together = await Promise.all([model.predict({ protein }), model.predict({ rna, protein }), model.embed("protein", protein)]);
    const embeddings = {};
    for (const [modality, sequence] of Object.entries({ protein, rna })) {
      const e = await model.embed(modality, sequence);
      embeddings[modality] = { shape: e.shape, length: e.data.length, isFloat32: e.data instanceof Float32Array, finite: e.data.every(Number.isFinite) };
    }
    // Layer-wise embeddings: the last layer's <cls> row and unpooled rows are the plain output's.
    const plain = await model.embed("protein", protein);
    const width = plain.shape[1];
    const cls = await model.embed("protein", protein, { layer: [0, -1], pooling: "cls" });
    const none = await model.embed("protein", protein, { layer: -1, pooling: "none" });
    const mean = await model.embed("protein", protein, { layer: 1 });
    const codeOf = (promise) => promise.then(() => "resolved", (e) => e.code);
    const layered = {
      indices: cls.layers.map((l) => l.index), clsShape: cls.layers[1].shape, pooling: [cls.pooling, mean.pooling],
      clsIsFirstRow: Array.from(cls.layers[1].data).every((v, i) => v === plain.data[i]),
      noneIsPlain: none.layers[0].data.length === plain.data.length && none.layers[0].data.every((v, i) => v === plain.data[i]),
      meanShape: mean.layers[0].shape, width, tokens: Array.from(none.tokens), plainTokens: Array.from(plain.tokens),
      outOfRange: await codeOf(model.embed("protein", protein, { layer: 99 })),
      poolingAlone: await codeOf(model.embed("protein", protein, { pooling: "cls" })),
      dnaLayer: await codeOf(model.embed("dna", "ACGT", { layer: 1 })),
      unknownOption: await codeOf(model.embed("protein", protein, { layers: 1 })),
    };
    // An abort while the DNA pass runs on the GPU stops it at its next checkpoint; the model answers.
    const running = new AbortController();
    const runningCall = codeOf(model.predict({ dna, rna, protein }, { signal: running.signal }));
    setTimeout(() => running.abort(), 0);
    const abortedRunning = await runningCall;
    const afterAbort = Array.from((await model.predict({ protein })).values);
    const proteinEmbedding = Array.from(plain.data);
    const info = model.info;
    const hookPublic = "simulateDeviceLoss" in model || "testing" in IsoFormer;
    const { loseDevice } = await import("/testing.js");
    await loseDevice(model).catch(() => {});
    const lost = await model.predict({ protein }).then(() => "resolved", (e) => e.code);
    // The fresh load takes the parts' own URLs (no RNA part): the other form of `weights`; on the
    // CPU (a fresh WebGPU device after a loss is faults.mjs's).
    const again = await IsoFormer.load({ weights: { dna: `${weights}dna/`, protein: `${weights}protein/`, aggregator: `${weights}aggregator/` }, device: "cpu" });
    const afterLoss = Array.from((await again.predict({ protein })).values);
    const againModalities = again.info.modalities;
    await again.dispose();
    return {
      info, stages, badEvents, lastProgress, progressNeverFalls, hookPublic, embeddings, layered, lost, afterLoss, againModalities, abortedRunning, afterAbort, proteinEmbedding,
      proteinOnly: { tissues: proteinOnly.tissues, values: Array.from(proteinOnly.values), isFloat32: proteinOnly.values instanceof Float32Array, random: proteinOnly.randomWeights, modalities: proteinOnly.modalities },
      rnaProtein: Array.from(rnaProtein.values),
      full: Array.from(full.values), fullStages: full.stages, fullMs,
      together: [Array.from(together[0].values), Array.from(together[1].values), together[2].shape],
    };
  }, { weights: WEIGHTS, protein: PROTEIN, rna: RNA, dna: DNA });
  assert.equal(main.error, undefined, `${main.error}: ${main.message}`);
  assert.equal(main.info.backend, "webgpu");
  assert.equal(main.info.wasmSimd, true, "the shipped wasm module is built with simd128");
  assert.equal(main.info.randomWeights, true);
  assert.deepEqual(main.info.modalities, ["dna", "rna", "protein"]);
  assert.deepEqual(main.info.dtypes, { dna: "f32", rna: "f32", protein: "f32", aggregator: "f32" });
  assert.equal(main.stages[0], "manifest");
  assert.deepEqual(main.stages.slice(-2), ["warm-up", "ready"]);
  assert.ok(main.stages.includes("verify"));
  assert.deepEqual(main.badEvents, [], "every progress event has finite loaded ≤ total, status, progress 0–100, a download's file");
  assert.equal(main.lastProgress, 100);
  assert.ok(main.progressNeverFalls, "progress never goes back");
  assert.equal(main.hookPublic, false, "the device-loss hook is neither a method of the model nor on IsoFormer (it is isoformer-web/testing)");
  assert.equal(main.proteinOnly.tissues.length, 30);
  assert.equal(main.proteinOnly.values.length, 30);
  assert.ok(main.proteinOnly.isFloat32 && main.proteinOnly.random && main.proteinOnly.values.every(Number.isFinite));
  assert.deepEqual(main.proteinOnly.modalities, ["protein"]);
  assert.notDeepEqual(main.full, main.proteinOnly.values, "adding DNA and RNA changes the prediction");
  assert.notDeepEqual(main.rnaProtein, main.proteinOnly.values, "adding RNA changes the prediction");
  assert.deepEqual(main.together[0], main.proteinOnly.values, "a call issued with others gives what it gives alone");
  assert.deepEqual(main.together[1], main.rnaProtein);
  assert.equal(main.together[2][0], PROTEIN.length + 2);
  assert.equal(main.embeddings.protein.shape[0], PROTEIN.length + 2, "<cls> + residues + <eos>");
  for (const e of Object.values(main.embeddings)) assert.ok(e.isFloat32 && e.finite && e.length === e.shape[0] * e.shape[1]);
  assert.deepEqual(main.layered.indices, [0, 2], "the tiny ESM-2 has 2 layers: -1 is 2");
  assert.deepEqual(main.layered.clsShape, [main.layered.width]);
  assert.deepEqual(main.layered.pooling, ["cls", "mean"]);
  assert.ok(main.layered.clsIsFirstRow, "cls: the last layer's <cls> row");
  assert.ok(main.layered.noneIsPlain, "the last layer unpooled is the last hidden state");
  assert.deepEqual(main.layered.meanShape, [main.layered.width]);
  assert.deepEqual(main.layered.tokens, main.layered.plainTokens);
  for (const key of ["outOfRange", "poolingAlone", "dnaLayer", "unknownOption"]) assert.equal(main.layered[key], "INVALID_ARGUMENT", key);
  assert.equal(main.abortedRunning, "ABORTED", "a running prediction stops when its signal is aborted");
  assert.deepEqual(main.afterAbort, main.proteinOnly.values, "the model predicts as before after an abort");
  assert.equal(main.lost, "DEVICE_LOST");
  close(main.afterLoss, main.proteinOnly.values, "a model loaded after a device loss predicts as before");
  assert.deepEqual(main.againModalities, ["dna", "protein"]);
  webgpuFull = main.full;
  webgpuProteinOnly = main.proteinOnly.values;
  // Stage timings: every stage in order, finite, within the call's time seen from the page (which
  // adds the worker's messaging).
  assert.deepEqual(Object.keys(main.fullStages), ["tokenize", "upload", "dna", "rna", "protein", "aggregation", "readback"]);
  assert.ok(Object.values(main.fullStages).every((ms) => Number.isFinite(ms) && ms >= 0), JSON.stringify(main.fullStages));
  const stageSum = Object.values(main.fullStages).reduce((a, b) => a + b, 0);
  // Disjoint spans inside the call: their sum cannot exceed it. No bound on seconds (a busy machine
  // stretches everything; speed belongs in BENCHMARKS.md).
  assert.ok(stageSum <= main.fullMs, `stages ${stageSum} ms, call ${main.fullMs} ms`);
  assert.ok(main.fullStages.dna > 0, JSON.stringify(main.fullStages));

  // 2b. Call options, FASTA text, predictMany, abort while queued, dispose (on the CPU).
  const calls = await inPage(page, async (IsoFormer, { weights, protein, rna, dna }) => {
    const warnings = [];
    const model = await IsoFormer.load({ weights, device: "cpu", onWarning: (w) => warnings.push(w) });
    const codeOf = (promise) => promise.then(() => "resolved", (e) => e.code);
    const values = async (inputs, options) => Array.from((await model.predict(inputs, options)).values);
    const out = {};
    // IUPAC codes: an error by default, read as N when asked (= the sequence with N written in).
    const ambiguous = `${rna.slice(0, 12)}RYK${rna.slice(15)}`;
    out.ambiguousRefused = await codeOf(model.predict({ rna: ambiguous, protein }));
    out.asN = await values({ rna: ambiguous, protein }, { ambiguous: "as-n" });
    out.withN = await values({ rna: `${rna.slice(0, 12)}NNN${rna.slice(15)}`, protein });
    // RNA over maxTokens: an error by default; keep-end / keep-start keep 4 whole 6-mers after <cls>.
    const rna54 = rna.slice(0, 54).replaceAll("U", "T");
    out.tooLong = await codeOf(model.predict({ rna: rna54, protein }, { maxTokens: 5 }));
    out.keepEnd = await values({ rna: rna54, protein }, { maxTokens: 5, crop: "keep-end" });
    out.lastFour = await values({ rna: rna54.slice(-24), protein });
    out.keepStart = await values({ rna: rna54, protein }, { maxTokens: 5, crop: "keep-start" });
    out.firstFour = await values({ rna: rna54.slice(0, 24), protein });
    // A protein past the trained context (1,024 residues): an error unless maxResidues allows it.
    const longProtein = protein.repeat(Math.ceil(1030 / protein.length)).slice(0, 1030);
    out.proteinTooLong = await codeOf(model.predict({ protein: longProtein }));
    out.maxResidues = (await values({ protein: longProtein }, { maxResidues: 1030 })).length;
    out.embedMaxResidues = (await model.embed("protein", longProtein, { maxResidues: 1030 })).shape[0];
    out.maxResiduesOnRna = await codeOf(model.embed("rna", rna, { maxResidues: 1030 }));
    out.badOption = await codeOf(model.predict({ protein }, { crop: "middle" }));
    out.unknownOption = await codeOf(model.predict({ protein }, { maxToken: 5 }));
    out.dnaTooLong = await codeOf(model.predict({ dna: "A".repeat(196_609) }));
    // FASTA text with one record reads as its sequence; several records point to predictMany.
    out.fasta = await values({ protein: `>NP_1 a protein\n${protein.slice(0, 20)}\n${protein.slice(20)}\n` });
    out.plain = await values({ protein });
    out.severalRecords = await model.predict({ protein: `>a\n${protein}\n>b\n${protein}\n` }).then(() => "resolved", (e) => `${e.code}: ${e.message}`);
    out.embedFasta = Array.from((await model.embed("protein", `>p\n${protein}`)).data.slice(0, 8));
    out.embedPlain = Array.from((await model.embed("protein", protein)).data.slice(0, 8));
    out.embedAsN = (await model.embed("rna", ambiguous, { ambiguous: "as-n" })).shape;
    out.embedProteinCrop = await codeOf(model.embed("protein", protein, { crop: "keep-end" }));
    // DNA's embedding here (its values on WebGPU are tests/web.rs's, against enformer-pytorch).
    const dnaEmbedding = await model.embed("dna", dna);
    out.embedDna = { shape: dnaEmbedding.shape, length: dnaEmbedding.data.length, isFloat32: dnaEmbedding.data instanceof Float32Array, finite: dnaEmbedding.data.every(Number.isFinite) };
    // predictMany: one DNA window for every transcript, each result reported as it is ready.
    const progress = [];
    const many = await model.predictMany({
      dna, transcripts: [{ id: "t1", rna, protein }, { id: "t2", protein }],
      onProgress: (e) => progress.push({ status: e.status, index: e.index, id: e.id, done: e.done, total: e.total, progress: e.progress, n: e.result.values.length }),
    });
    out.many = many.map((r) => ({ id: r.id, values: Array.from(r.values), modalities: r.modalities }));
    out.manyProgress = progress;
    out.manySeparate = await values({ dna, protein });
    const bad = await model.predictMany({ transcripts: [{ id: "ok", protein }, { id: "bad", protein: "MK1T" }] }).catch((e) => e);
    out.manyBad = { code: bad.code, transcript: bad.transcript };
    out.manyEmpty = await codeOf(model.predictMany({ transcripts: [] }));
    // Abort: a queued call never starts; the model answers the next call as before.
    const queued = new AbortController();
    const first = model.predict({ rna, protein });
    const queuedCall = codeOf(model.predict({ protein }, { signal: queued.signal }));
    queued.abort();
    out.abortedQueued = await queuedCall;
    out.firstStillAnswers = Array.from((await first).values);
    out.abortedBefore = await codeOf(model.predict({ protein }, { signal: AbortSignal.abort() }));
    out.afterAborts = await values({ protein });
    out.badSignal = await codeOf(model.predict({ protein }, { signal: "stop" }));
    // The parallel CPU fallback (the default on the CPU: RNA and protein in helper workers beside
    // Enformer) predicts what one worker alone predicts, bit for bit.
    out.cores = navigator.hardwareConcurrency;
    out.parallel = model.info.parallel;
    const alone = await IsoFormer.load({ weights, device: "cpu", parallel: false });
    out.aloneParallel = alone.info.parallel;
    const full = await model.predict({ dna, rna, protein });
    out.parallelFull = Array.from(full.values);
    out.parallelStages = Object.keys(full.stages);
    out.aloneFull = Array.from((await alone.predict({ dna, rna, protein })).values);
    const transcripts = [{ id: "t1", rna, protein }, { id: "t2", protein }, { id: "t3", rna }, { id: "t4" }, { id: "t5", rna, protein }];
    out.parallelMany = (await model.predictMany({ dna, transcripts })).map((r) => Array.from(r.values));
    out.aloneMany = (await alone.predictMany({ dna, transcripts })).map((r) => Array.from(r.values));
    await alone.dispose();
    // A helper worker dying mid-call (testing's crashHelpers): predict goes on in the model's worker
    // alone with the same values, a warning says so, and later calls run there. A second model's
    // helpers die at the fifth transcript of predictMany: the first four were predicted in parallel,
    // the fifth alone, each reported once.
    const { crashHelpers } = await import("/testing.js");
    out.crashed = await crashHelpers(model);
    out.crashedFull = Array.from((await model.predict({ dna, rna, protein })).values);
    out.crashWarnings = warnings.filter((w) => w.includes("one after another from now on"));
    out.parallelAfterCrash = model.info.parallel;
    out.crashedAgain = await crashHelpers(model);
    out.afterCrash = Array.from((await model.predict({ dna, rna, protein })).values);
    const secondWarnings = [];
    const second = await IsoFormer.load({ weights, device: "cpu", onWarning: (w) => secondWarnings.push(w) });
    out.secondCrashed = await crashHelpers(second, { after: 2 });
    const reported = [];
    const crashedMany = await second.predictMany({ dna, transcripts, onProgress: (e) => reported.push(e.index) });
    out.crashedMany = crashedMany.map((r) => ({ id: r.id, values: Array.from(r.values) }));
    out.crashedManyReported = reported;
    out.secondWarnings = secondWarnings;
    out.secondParallelAfterCrash = second.info.parallel;
    await second.dispose();
    out.badCrash = await Promise.resolve().then(() => crashHelpers(model, { after: -1 })).then(() => "resolved", (e) => e.name);
    out.badParallel = await codeOf(IsoFormer.load({ weights, parallel: "yes" }));
    // dispose: a Promise; later calls DISPOSED; `await using` support.
    const disposing = model.dispose();
    out.disposeIsPromise = disposing instanceof Promise;
    await disposing;
    out.afterDispose = await codeOf(model.predict({ protein }));
    out.asyncDispose = typeof model[Symbol.asyncDispose];
    return out;
  }, { weights: WEIGHTS, protein: PROTEIN, rna: RNA, dna: DNA });
  assert.equal(calls.error, undefined, `${calls.error}: ${calls.message}`);
  assert.equal(calls.ambiguousRefused, "INVALID_CHARACTER");
  assert.deepEqual(calls.asN, calls.withN, "ambiguous: as-n reads R, Y, K as N");
  assert.equal(calls.tooLong, "SEQUENCE_TOO_LONG");
  assert.deepEqual(calls.keepEnd, calls.lastFour, "crop keep-end keeps the last 6-mers");
  assert.deepEqual(calls.keepStart, calls.firstFour, "crop keep-start keeps the first 6-mers");
  assert.notDeepEqual(calls.keepEnd, calls.keepStart);
  assert.equal(calls.proteinTooLong, "SEQUENCE_TOO_LONG");
  assert.equal(calls.maxResidues, 30, "maxResidues: 1030 reads the longer protein");
  assert.equal(calls.embedMaxResidues, 1032, "embed reads the 1,030 residues with <cls> and <eos>");
  assert.equal(calls.maxResiduesOnRna, "INVALID_ARGUMENT", "maxResidues applies to proteins");
  assert.equal(calls.badOption, "INVALID_ARGUMENT");
  assert.equal(calls.unknownOption, "INVALID_ARGUMENT");
  assert.equal(calls.dnaTooLong, "SEQUENCE_TOO_LONG");
  assert.deepEqual(calls.fasta, calls.plain, "FASTA text with one record reads as its sequence");
  close(calls.plain, main.proteinOnly.values, "protein only");
  assert.match(calls.severalRecords, /^INVALID_ARGUMENT: .*2 records.*predictMany/);
  assert.deepEqual(calls.embedFasta, calls.embedPlain);
  assert.equal(calls.embedAsN[0], 1 + Math.floor(RNA.length / 6) + (RNA.length % 6));
  assert.equal(calls.embedProteinCrop, "INVALID_ARGUMENT");
  assert.equal(calls.embedDna.shape[0], 896, "Enformer's 896 bins");
  assert.ok(calls.embedDna.isFloat32 && calls.embedDna.finite && calls.embedDna.length === calls.embedDna.shape[0] * calls.embedDna.shape[1]);
  assert.deepEqual(calls.many.map((r) => r.id), ["t1", "t2"]);
  close(calls.many[0].values, main.full, "predictMany equals predict for a transcript with DNA, RNA and protein");
  assert.deepEqual(calls.many[1].values, calls.manySeparate);
  assert.deepEqual(calls.many[1].modalities, ["dna", "protein"]);
  assert.deepEqual(calls.manyProgress, [
    { status: "predicted", index: 0, id: "t1", done: 1, total: 2, progress: 50, n: 30 },
    { status: "predicted", index: 1, id: "t2", done: 2, total: 2, progress: 100, n: 30 },
  ]);
  assert.deepEqual(calls.manyBad, { code: "INVALID_CHARACTER", transcript: "bad" });
  assert.equal(calls.manyEmpty, "INVALID_ARGUMENT");
  assert.equal(calls.abortedQueued, "ABORTED");
  close(calls.firstStillAnswers, main.rnaProtein, "a call queued before an aborted one still answers");
  assert.equal(calls.abortedBefore, "ABORTED");
  assert.deepEqual(calls.afterAborts, calls.plain, "the model predicts as before after aborts");
  assert.equal(calls.badSignal, "INVALID_ARGUMENT");
  assert.equal(calls.parallel, calls.cores >= 2, `helper workers on ${calls.cores} cores`);
  assert.equal(calls.aloneParallel, false);
  assert.deepEqual(calls.parallelFull, calls.aloneFull, "the parallel CPU fallback predicts as one worker, bit for bit");
  if (calls.parallel) assert.deepEqual(calls.parallelStages, ["tokenize", "dna", "rna", "protein", "upload", "aggregation", "readback"]);
  assert.deepEqual(calls.parallelMany, calls.aloneMany, "predictMany: the same, transcript by transcript");
  const helperCount = calls.parallel ? 2 : 0;
  assert.deepEqual(calls.crashed, { helpers: helperCount });
  assert.deepEqual(calls.crashedFull, calls.aloneFull, "a helper crash mid-predict: the same values, from the model's worker alone");
  assert.deepEqual(calls.crashedAgain, { helpers: 0 }, "after a helper crash the model runs in one worker");
  assert.equal(calls.parallelAfterCrash, false, "info.parallel says so");
  assert.equal(calls.secondParallelAfterCrash, false);
  assert.deepEqual(calls.afterCrash, calls.aloneFull);
  assert.deepEqual(calls.secondCrashed, { helpers: helperCount });
  assert.deepEqual(calls.crashedMany.map((r) => r.values), calls.aloneMany, "a helper crash mid-predictMany: the same values");
  assert.deepEqual(calls.crashedMany.map((r) => r.id), ["t1", "t2", "t3", "t4", "t5"]);
  assert.deepEqual(calls.crashedManyReported, [0, 1, 2, 3, 4], "each transcript reported once, in order");
  if (calls.parallel) {
    assert.equal(calls.crashWarnings.length, 1, JSON.stringify(calls.crashWarnings));
    assert.match(calls.crashWarnings[0], /helper worker failed: .*crashed by crashHelpers/);
    assert.ok(calls.secondWarnings.some((w) => /one after another from now on.*crashed by crashHelpers/.test(w)), JSON.stringify(calls.secondWarnings));
  }
  assert.equal(calls.badCrash, "TypeError");
  assert.equal(calls.badParallel, "INVALID_ARGUMENT");
  assert.ok(calls.disposeIsPromise);
  assert.equal(calls.afterDispose, "DISPOSED");
  assert.equal(calls.asyncDispose, "function");

  // 2c. The package from another origin (a CDN): the worker starts through a blob module; and
  //     `workerUrl` naming worker.js on the page's own origin.
  const cdn = await staticServer(site, { headers: { "access-control-allow-origin": "*" } });
  try {
    const fromCdn = await page.evaluate(async ({ cdn, weights, protein }) => {
      try {
        const { IsoFormer } = await import(`${cdn}/index.js`);
        const model = await IsoFormer.load({ weights, modalities: ["protein"], device: "cpu" });
        const values = Array.from((await model.predict({ protein })).values);
        await model.dispose();
        const local = await IsoFormer.load({ weights, modalities: ["protein"], device: "cpu", workerUrl: "/worker.js" });
        const localValues = Array.from((await local.predict({ protein })).values);
        await local.dispose();
        return { values, localValues };
      } catch (error) {
        return { error: error.code ?? String(error), message: error.message };
      }
    }, { cdn: cdn.origin, weights: WEIGHTS, protein: PROTEIN });
    assert.equal(fromCdn.error, undefined, `${fromCdn.error}: ${fromCdn.message}`);
    assert.deepEqual(fromCdn.values, calls.plain, "the package loaded from another origin predicts the same");
    assert.deepEqual(fromCdn.localValues, calls.plain);
    assert.ok(cdn.requests.some((r) => r.path === "/worker.js"), "the worker script came from the CDN");
    assert.ok(cdn.requests.some((r) => r.path === "/pkg/isoformer_bg.wasm"), "the wasm module came from the CDN");
  } finally {
    cdn.close();
  }

  // 2d. Offline: a model loaded once loads again with every weight request cut (index, manifests
  //     and shards from the cache; each fetched once per load); isCached says so per modality.
  //     Model ids ("org/name") resolved against env.localModelPath and env.remoteHost.
  let offline = false;
  let helperRefused = false;
  const weightRequests = () => host.requests.filter((r) => r.path.startsWith("/weights/") || r.path.startsWith("/test-org/") || r.path.startsWith("/models/"));
  const host = await staticServer(site, {
    routes: { "/test.html": blankPage("offline test") },
    intercept: (request, response, url) => {
      const weights = /^\/(weights|test-org|models)\//.test(url.pathname);
      if (offline && weights) return Boolean(request.socket.destroy());
      if (helperRefused && url.pathname === "/encoder-worker.js") return Boolean(response.writeHead(404).end());
      return false;
    },
    rewrite: (pathname) => pathname
      .replace(/^\/test-org\/isoformer-tiny-random\/resolve\/main\//, "/weights/isoformer-tiny-random/")
      .replace(/^\/models\/local-org\/tiny\//, "/weights/isoformer-tiny-random/"),
  });
  try {
    const hostPage = await newPage(browser, "offline");
    await hostPage.goto(`${host.origin}/test.html`);
    const online = await inPage(hostPage, async (IsoFormer, { weights, protein }) => {
      const before = await IsoFormer.isCached(weights);
      const model = await IsoFormer.load({ weights, modalities: ["protein"], device: "cpu" });
      const values = Array.from((await model.predict({ protein })).values);
      await model.dispose();
      return { before, values, protein: await IsoFormer.isCached(weights, { modalities: ["protein"] }), all: await IsoFormer.isCached(weights) };
    }, { weights: WEIGHTS, protein: PROTEIN });
    assert.equal(online.error, undefined, `${online.error}: ${online.message}`);
    assert.deepEqual([online.before, online.protein, online.all], [false, true, false], "isCached: nothing, then the protein parts, not the RNA part");
    assert.deepEqual(online.values, calls.plain);
    const count = (path) => weightRequests().filter((r) => r.path === path).length;
    assert.equal(count(`${WEIGHTS}isoformer.json`), 1, "the index is fetched once per load");
    assert.equal(count(`${WEIGHTS}protein/manifest.json`), 1, "a manifest is fetched once per load");
    offline = true;
    const cut = await inPage(hostPage, async (IsoFormer, { weights, protein }) => {
      const warnings = [];
      const model = await IsoFormer.load({ weights, modalities: ["protein"], device: "cpu", onWarning: (w) => warnings.push(w) });
      const values = Array.from((await model.predict({ protein })).values);
      await model.dispose();
      const uncached = await IsoFormer.load({ weights, modalities: ["rna"], device: "cpu" }).then(() => "resolved", (e) => e.code);
      return { values, warnings, uncached };
    }, { weights: WEIGHTS, protein: PROTEIN });
    assert.equal(cut.error, undefined, `${cut.error}: ${cut.message}`);
    assert.deepEqual(cut.values, online.values, "offline, the cached model predicts as online");
    assert.ok(cut.warnings.some((w) => w.includes("from the cache")), cut.warnings.join("; "));
    assert.equal(cut.uncached, "NETWORK_ERROR", "offline, a part that was never cached cannot load");
    offline = false;

    // A helper worker that cannot start (its script refused): the model loads in one worker, a
    // warning says why, and it predicts as a model loaded with `parallel: false`.
    helperRefused = true;
    const requestsBefore = host.requests.length;
    const noHelper = await inPage(hostPage, async (IsoFormer, { weights, rna, protein }) => {
      const warnings = [];
      const model = await IsoFormer.load({ weights, device: "cpu", onWarning: (w) => warnings.push(w) });
      const values = Array.from((await model.predict({ rna, protein })).values);
      const parallel = model.info.parallel;
      await model.dispose();
      const alone = await IsoFormer.load({ weights, device: "cpu", parallel: false });
      const aloneValues = Array.from((await alone.predict({ rna, protein })).values);
      await alone.dispose();
      return { values, aloneValues, parallel, warnings };
    }, { weights: WEIGHTS, rna: RNA, protein: PROTEIN });
    helperRefused = false;
    assert.equal(noHelper.error, undefined, `${noHelper.error}: ${noHelper.message}`);
    assert.equal(noHelper.parallel, false, "no helper: one worker");
    assert.deepEqual(noHelper.values, noHelper.aloneValues);
    if (calls.cores >= 2) {
      assert.ok(host.requests.slice(requestsBefore).some((r) => r.path === "/encoder-worker.js"), "the helper's script was asked for");
      assert.ok(noHelper.warnings.some((w) => w.includes("one after another on this CPU (a helper worker could not load")), noHelper.warnings.join("; "));
    }

    const ids = await inPage(hostPage, async (IsoFormer, { protein }) => {
      const { env } = IsoFormer;
      const codeOf = (promise) => promise.then(() => "resolved", (e) => e.code);
      Object.assign(env, { remoteHost: `${location.origin}/`, allowLocalModels: false });
      const remote = await IsoFormer.load({ weights: "test-org/isoformer-tiny-random", modalities: ["protein"], device: "cpu" });
      const remoteValues = Array.from((await remote.predict({ protein })).values);
      const remoteUrl = remote.info.weights;
      await remote.dispose();
      const missingRevision = await codeOf(IsoFormer.load({ weights: "test-org/isoformer-tiny-random", revision: "v9", cache: false }));
      Object.assign(env, { allowLocalModels: true, allowRemoteModels: false, localModelPath: "/models/" });
      const local = await IsoFormer.load({ weights: "local-org/tiny", modalities: ["protein"], device: "cpu" });
      const localUrl = local.info.weights;
      await local.dispose();
      Object.assign(env, { allowLocalModels: false });
      const nowhere = await codeOf(IsoFormer.load({ weights: "local-org/tiny" }));
      return { remoteValues, remoteUrl, missingRevision, localUrl, nowhere };
    }, { protein: PROTEIN });
    assert.equal(ids.error, undefined, `${ids.error}: ${ids.message}`);
    assert.deepEqual(ids.remoteValues, calls.plain);
    assert.equal(ids.remoteUrl, `${host.origin}/test-org/isoformer-tiny-random/resolve/main/`);
    assert.equal(ids.missingRevision, "NETWORK_ERROR");
    assert.equal(ids.localUrl, `${host.origin}/models/local-org/tiny/`);
    assert.equal(ids.nowhere, "INVALID_ARGUMENT");
  } finally {
    host.close();
  }

  // 3. Typed errors, dtype variants.
  const errors = await inPage(page, async (IsoFormer, { weights }) => {
    const codes = {};
    const code = async (name, promise) => {
      try {
        await promise;
        codes[name] = "resolved";
      } catch (error) {
        codes[name] = error instanceof Error && error.name === "IsoFormerError" ? error.code : `not an IsoFormerError: ${error?.code}`;
      }
    };
    await code("noWeights", IsoFormer.load({}));
    await code("badDevice", IsoFormer.load({ weights, device: "tpu" }));
    await code("unknownOption", IsoFormer.load({ weights, dtyp: "q8" }));
    await code("missingDir", IsoFormer.load({ weights: "/weights/nothing-here/", cache: false }));
    await code("noQ4", IsoFormer.load({ weights, dtype: "q4" }));
    await code("badFusion", IsoFormer.load({ weights, fusion: "off" }));
    const parts = { dna: `${weights}dna/`, protein: `${weights}protein/`, aggregator: `${weights}aggregator/` };
    await code("partsWithDtype", IsoFormer.load({ weights: parts, dtype: "q8" }));
    // Low memory: nothing runs at load, and each call fetches only its part — the q8 protein
    // encoder's matrices, kept quantized on WebGPU, without an Enformer pass.
    const model = await IsoFormer.load({ weights, dtype: "q8", modalities: ["protein"], lowMemory: true });
    await code("badResidue", model.predict({ protein: "MKT1AY" }));
    await code("emptyInputs", model.predict({}));
    await code("unknownInput", model.predict({ peptide: "MKT" }));
    await code("notLoaded", model.predict({ rna: "ACGU" }));
    await code("badModality", model.embed("atac", "ACGT"));
    const q8 = { weights: model.info.weights, dtypes: model.info.dtypes, modalities: model.info.modalities, values: Array.from((await model.embed("protein", args.protein)).data) };
    model.dispose();
    await code("afterDispose", model.predict({ protein: "MKT" }));
    return { codes, q8 };
  }, { weights: WEIGHTS, protein: PROTEIN });
  assert.equal(errors.error, undefined, `${errors.error}: ${errors.message}`);
  assert.deepEqual(errors.codes, {
    noWeights: "INVALID_ARGUMENT",
    badDevice: "INVALID_ARGUMENT",
    unknownOption: "INVALID_ARGUMENT",
    missingDir: "NETWORK_ERROR",
    noQ4: "DTYPE_UNAVAILABLE",
    badFusion: "INVALID_ARGUMENT",
    partsWithDtype: "INVALID_ARGUMENT",
    badResidue: "INVALID_CHARACTER",
    emptyInputs: "INVALID_ARGUMENT",
    unknownInput: "INVALID_ARGUMENT",
    notLoaded: "INVALID_ARGUMENT",
    badModality: "INVALID_ARGUMENT",
    afterDispose: "DISPOSED",
  });
  assert.ok(errors.q8.weights.endsWith(`${WEIGHTS}q8/`), errors.q8.weights);
  assert.deepEqual(errors.q8.dtypes, { dna: "q8", rna: "q8", protein: "q8", aggregator: "q8" });
  assert.deepEqual(errors.q8.modalities, ["dna", "protein"]);
  assert.ok(maxRelativeDifference(errors.q8.values, main.proteinEmbedding) < 0.05, "q8 embeds close to f32");
  q8OnWebgpu = errors.q8.values;

  // 3b. Fusion off (a diagnosis switch): every operation its own kernel, the same values.
  const unfused = await inPage(page, async (IsoFormer, { weights, protein }) => {
    const model = await IsoFormer.load({ weights, modalities: ["protein"], fusion: false, lowMemory: true });
    const values = Array.from((await model.embed("protein", protein)).data);
    model.dispose();
    return values;
  }, { weights: WEIGHTS, protein: PROTEIN });
  assert.equal(unfused.error, undefined, `${unfused.error}: ${unfused.message}`);
  close(unfused, main.proteinEmbedding, "fusion off embeds what fusion on embeds");

  // 4. Abort, before and during a load.
  const aborts = await inPage(page, async (IsoFormer, { weights }) => {
    const controller = new AbortController();
    const during = IsoFormer.load({ weights, signal: controller.signal }).then(() => "resolved", (e) => e.code);
    controller.abort();
    const before = await IsoFormer.load({ weights, signal: AbortSignal.abort() }).then(() => "resolved", (e) => e.code);
    return { during: await during, before };
  }, { weights: WEIGHTS });
  assert.deepEqual(aborts, { during: "ABORTED", before: "ABORTED" });
} finally {
  await browser.close();
}

// 4b. A browser whose WebAssembly has no SIMD (none with WebGPU lacks it; simulated by a worker
//     whose engine validates no SIMD module): a typed NO_WASM_SIMD, not a CompileError.
const noSimdServer = await staticServer(site, {
  routes: { "/test.html": blankPage("no simd") },
  transform: (path, bytes) => (path.endsWith("worker.js") ? Buffer.concat([Buffer.from("WebAssembly.validate = () => false;\n"), bytes]) : bytes),
});
const noSimdBrowser = await launchChromium();
try {
  const page = await newPage(noSimdBrowser, "no-simd");
  await page.goto(`${noSimdServer.origin}/test.html`);
  const refused = await inPage(page, async (IsoFormer, { weights }) => IsoFormer.load({ weights }).then(() => "resolved", (e) => `${e.name}:${e.code}`), { weights: WEIGHTS });
  assert.equal(refused, "IsoFormerError:NO_WASM_SIMD");
} finally {
  await noSimdBrowser.close();
  noSimdServer.close();
}

// 5. A Chromium without WebGPU: "auto" falls back to Burn's CPU backend in wasm (the values agree
//    with WebGPU's within float tolerance), "webgpu" is NO_GPU.
const plain = await launchChromium({ webgpu: false });
try {
  const page = await newPage(plain, "no-webgpu");
  await page.goto(`${server.origin}/test.html`);
  const fallback = await inPage(page, async (IsoFormer, { weights, protein, rna, dna }) => {
    const model = await IsoFormer.load({ weights });
    const values = Array.from((await model.predict({ dna, rna, protein })).values);
    const { backend, device } = model.info;
    // DNA over the window, centre-cropped = its central 196,608 bp given as they are.
    const window = dna.padEnd(196_608, "N");
    const long = `${"ACGT".repeat(50)}${window}${"ACGT".repeat(50)}`;
    const cropped = Array.from((await model.predict({ dna: long, protein }, { cropDna: "centre" })).values);
    const centre = Array.from((await model.predict({ dna: window, protein })).values);
    // The CPU computes synchronously between checkpoints: an abort still stops the prediction.
    const controller = new AbortController();
    const aborting = model.predict({ dna, rna, protein }, { signal: controller.signal }).then(() => "resolved", (e) => e.code);
    setTimeout(() => controller.abort(), 0);
    const aborted = await aborting;
    const afterAbort = Array.from((await model.predict({ protein })).values);
    await model.dispose();
    // q8 here is widened on upload; on WebGPU its matrices stayed quantized: the same values.
    const q8model = await IsoFormer.load({ weights, dtype: "q8", modalities: ["protein"], lowMemory: true });
    const q8 = Array.from((await q8model.embed("protein", protein)).data);
    q8model.dispose();
    const webgpu = await IsoFormer.load({ weights, device: "webgpu" }).then(() => "resolved", (e) => e.code);
    return { backend, device, values, q8, webgpu, cropped, centre, aborted, afterAbort };
  }, { weights: WEIGHTS, protein: PROTEIN, rna: RNA, dna: DNA });
  assert.equal(fallback.error, undefined, `${fallback.error}: ${fallback.message}`);
  assert.equal(fallback.backend, "cpu");
  assert.ok(fallback.device.startsWith("cpu"), fallback.device);
  close(fallback.values, webgpuFull, "DNA + RNA + protein");
  close(fallback.q8, q8OnWebgpu, "q8 widened on the CPU, kept quantized on WebGPU");
  assert.equal(fallback.webgpu, "NO_GPU");
  assert.deepEqual(fallback.cropped, fallback.centre, "cropDna: centre keeps the central window");
  assert.equal(fallback.aborted, "ABORTED", "an abort stops a CPU prediction");
  close(fallback.afterAbort, webgpuProteinOnly, "the CPU model predicts after an abort");
} finally {
  await plain.close();
  server.close();
}
const [largest, where] = seen.reduce((a, b) => (b[0] > a[0] ? b : a));
console.log(`package_api: ok (${seen.length} comparisons between backends and calls; the largest difference ${largest.toExponential(2)} of the scale, ${where})`);
