// isoformer-web's JavaScript API: IsoFormer (and its three encoders) in a dedicated Web Worker,
// on WebGPU or, without it, on the CPU. The wasm-bindgen module (./pkg) is an internal detail of
// the worker (./worker.js); this file only sends it requests, one at a time per model.
//
//   import { IsoFormer } from "isoformer-web";
//   const model = await IsoFormer.load({ weights: "/models/isoformer/", onProgress: console.log });
//   const { tissues, values } = await model.predict({ dna, rna, protein }, { signal });
//   const rows = await model.predictMany({ dna, transcripts: [{ id, rna, protein }, …] });
//   const { data, shape } = await model.embed("protein", "MKTAYIAKQRQ");
//   await model.dispose();

import { cachedModel } from "./weights-cache.js";

/** Error codes produced by the Rust core (src/error.rs; a test keeps the two lists equal). */
export const CORE_ERROR_CODES = Object.freeze([
  "INVALID_CHARACTER", "EMPTY_SEQUENCE", "SEQUENCE_TOO_LONG", "WRONG_MODALITY", "INVALID_FASTA", "INVALID_CONFIG",
  "INVALID_MANIFEST", "WEIGHTS_CORRUPT", "INVALID_WEIGHT_FILE", "CHECKPOINT_MISMATCH", "NO_GPU", "DEVICE_ERROR",
  "NETWORK_ERROR", "IO_ERROR", "INVALID_ARGUMENT", "ABORTED", // `signal` was aborted
  "INVALID_ANNOTATION", "INVALID_VARIANT", "REF_MISMATCH", // scoreVariants' annotation and VCF records
]);

/** Error codes of the JavaScript layer: the worker and the model's lifetime. */
export const API_ERROR_CODES = Object.freeze([
  "DEVICE_LOST", // the GPU device was lost (driver reset, too much memory): load the model again
  "DISPOSED", // the model was disposed (or lost) before or during the call
  "WORKER_ERROR", // the worker failed outside the model (e.g. the wasm module could not be fetched)
  "DTYPE_UNAVAILABLE", // no weights of the requested dtype at that URL
  "NO_WASM_SIMD", // the browser's WebAssembly lacks SIMD (every browser with WebGPU has it)
]);

/** An error with a stable `code` (one of CORE_ERROR_CODES or API_ERROR_CODES). */
export class IsoFormerError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = "IsoFormerError";
    this.code = code;
    // predictMany: the transcript an error is about.
    if (details?.transcript !== undefined) this.transcript = details.transcript;
  }
}

const DEVICES = ["auto", "webgpu", "cpu"];
const DTYPES = ["f32", "f16", "q8", "q4"];
const MODALITIES = ["dna", "rna", "protein"];

function invalid(message) {
  return new IsoFormerError("INVALID_ARGUMENT", message);
}

// The worker: one given (`worker`), one at `workerUrl`, or ./worker.js beside this module — the
// last written as `new Worker(new URL("./worker.js", import.meta.url))` so bundlers (Vite, webpack 5,
// esbuild, Parcel) see it and emit the worker. A worker script on another origin (a CDN) cannot
// be started directly; a same-origin blob module that imports it can (the CDN sends CORS headers,
// as it must for ES modules anyway).
const WORKER_FILE = "./worker.js"; // (a variable: bundlers leave this URL alone)
function startWorker({ worker, workerUrl }) {
  if (worker) return worker;
  const page = globalThis.location?.href;
  const url = new URL(workerUrl ?? WORKER_FILE, workerUrl ? page : import.meta.url);
  if (url.origin !== new URL(page).origin) {
    const shim = new Blob([`import ${JSON.stringify(url.href)};\n`], { type: "text/javascript" });
    return new Worker(URL.createObjectURL(shim), { type: "module", name: "isoformer-web" });
  }
  if (workerUrl) return new Worker(url, { type: "module", name: "isoformer-web" });
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "isoformer-web" });
}

// Resolves a weights URL against the page, so the worker (whose base URL is its script) reads it as the page does.
function absolute(url) {
  return new URL(url, globalThis.location?.href).href;
}

/**
 * Where model ids (`weights: "org/name"`) are looked for, as transformers.js's `env` has it: first
 * `localModelPath` + id (when `allowLocalModels`), then `remoteHost` + `remotePathTemplate` (when
 * `allowRemoteModels`; `{model}` and `{revision}` filled in — Hugging Face's layout by default).
 */
export const env = {
  remoteHost: "https://huggingface.co/",
  remotePathTemplate: "{model}/resolve/{revision}/",
  localModelPath: "/models/",
  allowLocalModels: true,
  allowRemoteModels: true,
};

// "org/name": two path segments, no scheme, no leading "/" or ".", no trailing "/" (which a weight
// directory's URL has or may be given with).
const MODEL_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

function isModelId(weights) {
  return typeof weights === "string" && MODEL_ID.test(weights) && !weights.includes("..");
}

// The candidate directory URLs of a model id, in the order they are tried.
function modelIdCandidates(id, revision = "main") {
  const candidates = [];
  if (env.allowLocalModels) candidates.push(absolute(`${env.localModelPath.replace(/\/?$/, "/")}${id}/`));
  if (env.allowRemoteModels) {
    const path = env.remotePathTemplate.replaceAll("{model}", id).replaceAll("{revision}", encodeURIComponent(revision));
    candidates.push(new URL(path.replace(/\/?$/, "/"), env.remoteHost).href);
  }
  return candidates;
}

// A model id to the first candidate directory that has an isoformer.json (a cached one counts, so an
// offline load finds it); a URL as it is.
async function resolveModel(weights, revision, cached) {
  if (!isModelId(weights)) return weights;
  const candidates = modelIdCandidates(weights, revision);
  if (candidates.length === 0) throw invalid(`${weights}: a model id, but env.allowLocalModels and env.allowRemoteModels are both false`);
  for (const base of candidates) {
    if (await cached(base)) return base;
    try {
      const response = await fetch(new URL("isoformer.json", base), { method: "HEAD" });
      if (response.ok) return base;
    } catch {
      // No answer from this place: try the next.
    }
  }
  throw new IsoFormerError("NETWORK_ERROR", `model ${weights}${revision ? `@${revision}` : ""} not found at ${candidates.join(" or ")}`);
}

function checkOptions(options) {
  if (!options || typeof options !== "object") throw invalid("IsoFormer.load({ weights, ... }): an options object is required");
  const known = ["weights", "revision", "modalities", "dtype", "device", "lowMemory", "parallel", "cache", "fusion", "onProgress", "onWarning", "signal", "worker", "workerUrl"];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw invalid(`IsoFormer.load: unknown option ${JSON.stringify(key)}; known: ${known.join(", ")}`);
  const { weights, modalities, dtype, device = "auto" } = options;
  const isUrl = typeof weights === "string" || weights instanceof URL;
  const isParts = weights && typeof weights === "object" && !isUrl;
  if ((!isUrl && !isParts) || (typeof weights === "string" && weights.trim() === ""))
    throw invalid("IsoFormer.load: `weights` must be a model id (\"org/name\"), a URL (an IsoFormer weight directory) or { dna, rna?, protein?, aggregator }");
  if (options.revision !== undefined && (typeof options.revision !== "string" || !isModelId(weights))) throw invalid("IsoFormer.load: `revision` is a string, given with a model id");
  if (modalities !== undefined && (!Array.isArray(modalities) || modalities.some((m) => m !== "rna" && m !== "protein")))
    throw invalid('IsoFormer.load: `modalities` must be an array of "rna" and "protein" (DNA is always read)');
  if (dtype !== undefined && !DTYPES.includes(dtype)) throw invalid(`IsoFormer.load: dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(", ")}`);
  if (!DEVICES.includes(device)) throw invalid(`IsoFormer.load: device ${JSON.stringify(device)}; expected one of ${DEVICES.join(", ")}`);
  // Per-part URLs already name what to load: an option that would pick something else is refused, not ignored.
  if (isParts && (dtype !== undefined || modalities !== undefined))
    throw invalid("IsoFormer.load: `dtype` and `modalities` apply to one IsoFormer directory URL; with per-part URLs, give the parts you want");
  const parts = isParts ? Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, absolute(v)])) : null;
  if (options.fusion !== undefined && typeof options.fusion !== "boolean") throw invalid("IsoFormer.load: `fusion` must be true or false");
  if (options.parallel !== undefined && typeof options.parallel !== "boolean") throw invalid("IsoFormer.load: `parallel` must be true or false");
  if (options.worker !== undefined && !(typeof Worker !== "undefined" && options.worker instanceof Worker)) throw invalid("IsoFormer.load: `worker` must be a Worker running isoformer-web's worker.js");
  if (options.workerUrl !== undefined && typeof options.workerUrl !== "string" && !(options.workerUrl instanceof URL)) throw invalid("IsoFormer.load: `workerUrl` must be a URL");
  if (options.worker !== undefined && options.workerUrl !== undefined) throw invalid("IsoFormer.load: give `worker` or `workerUrl`, not both");
  const url = isModelId(weights) ? weights : isUrl ? absolute(String(weights)) : parts;
  return { weights: url, modalities, dtype, device, lowMemory: Boolean(options.lowMemory), parallel: options.parallel !== false, cache: options.cache !== false, fusion: options.fusion !== false };
}

function abortError(signal, what = "the load") {
  const reason = signal?.reason instanceof Error ? `: ${signal.reason.message}` : "";
  return new IsoFormerError("ABORTED", `${what} was aborted${reason}`);
}

// A call's options: the data ones go to the worker; `signal` (and callbacks) stay here.
const PREDICT_OPTIONS = ["maxTokens", "maxResidues", "crop", "cropDna", "ambiguous", "signal"];
const ANNOTATION_FIELDS = ["genbank", "gff", "fasta"];
const WINDOW_STRANDS = ["genome", "transcript"];
const EMBED_OPTIONS = ["layer", "pooling", "maxTokens", "maxResidues", "crop", "ambiguous", "signal"];

function callOptions(call, options, known) {
  if (options === undefined || options === null) return { data: {}, signal: undefined };
  if (typeof options !== "object") throw invalid(`${call}: options must be an object`);
  for (const key of Object.keys(options)) if (!known.includes(key)) throw invalid(`${call}: unknown option ${JSON.stringify(key)}; known: ${known.join(", ")}`);
  const { signal, ...data } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid(`${call}: \`signal\` must be an AbortSignal`);
  for (const key of Object.keys(data)) if (data[key] === undefined) delete data[key];
  checkNumbers(call, data);
  return { data, signal };
}

// Options travel to the core as JSON, where NaN and ±Infinity become null ("not given") and a
// fraction or a negative number reads as a type error far from its cause: checked here instead.
function checkNumbers(call, { maxTokens, maxResidues, layer }) {
  const shown = (value) => (typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value));
  for (const [name, value] of [["maxTokens", maxTokens], ["maxResidues", maxResidues]]) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw invalid(`${call}: ${name} must be a positive integer, not ${shown(value)}`);
  }
  if (layer === undefined) return;
  const layers = Array.isArray(layer) ? layer : [layer];
  if (layers.length === 0 || !layers.every(Number.isSafeInteger)) throw invalid(`${call}: layer must be an integer or a non-empty array of integers, not ${Array.isArray(layer) ? `[${layer.map(shown)}]` : shown(layer)}`);
}

function checkSequences(call, inputs, keys) {
  for (const key of Object.keys(inputs)) if (!keys.includes(key)) throw invalid(`${call}: unknown input ${JSON.stringify(key)}; expected ${keys.join(", ")}`);
  for (const [key, value] of Object.entries(inputs)) if (value !== undefined && typeof value !== "string") throw invalid(`${call}: ${key} must be a string`);
}

// The test hooks' keys, shared with testing.js through the global symbol registry (not exported here).
const LOSE_DEVICE = Symbol.for("isoformer-web.loseDevice");
const CRASH_HELPERS = Symbol.for("isoformer-web.crashHelpers");

/** IsoFormer running in its own worker. Create with `IsoFormer.load`. */
export class IsoFormer {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #queue = Promise.resolve();
  #broken = null;
  #info = null;
  #onProgress = null;
  #onWarning = null;
  #disposed = null; // resolves when the worker has freed the model (dispose)

  constructor(token) {
    if (token !== LOAD_TOKEN) throw new TypeError("use `await IsoFormer.load({ weights })`");
  }

  /**
   * Starts a worker, fetches the weights (only the parts `modalities` needs; through the Cache API
   * unless `cache: false`), builds the model on `device` and, on WebGPU, runs a warm-up prediction
   * (it compiles the shaders; the CPU has none to compile).
   */
  static async load(options) {
    const settings = checkOptions(options);
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    settings.weights = await resolveModel(settings.weights, options.revision, (base) => settings.cache && cachedModel(base, {}));
    if (signal?.aborted) throw abortError(signal);
    const model = new IsoFormer(LOAD_TOKEN);
    model.#onProgress = typeof options.onProgress === "function" ? options.onProgress : null;
    model.#onWarning = typeof options.onWarning === "function" ? options.onWarning : (warning) => console.warn(`isoformer-web: ${warning}`);
    model.#start(options);
    const onAbort = () => model.#fail(abortError(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      model.#info = await model.#request("load", settings);
      return model;
    } catch (error) {
      model.#fail(error);
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #start(options) {
    this.#worker = startWorker(options);
    this.#worker.onmessage = ({ data }) => this.#receive(data);
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#fail(new IsoFormerError("WORKER_ERROR", `the isoformer-web worker failed: ${event.message ?? "unknown error"}`));
    };
    this.#worker.onmessageerror = () => this.#fail(new IsoFormerError("WORKER_ERROR", "a message from the worker could not be read"));
  }

  #receive(message) {
    if (message.type === "progress") return this.#onProgress?.(message.event);
    if (message.type === "warning") return this.#onWarning?.(message.warning);
    // e.g. `parallel` off once a helper worker died (a new object: one read earlier stays as it was).
    if (message.type === "info") return void (this.#info = { ...this.#info, ...message.changes });
    if (message.type === "lost") return this.#fail(new IsoFormerError("DEVICE_LOST", message.message));
    if (message.type === "fatal") return this.#fail(new IsoFormerError("WORKER_ERROR", `the worker stopped: ${message.message}; load the model again`));
    if (message.type === "disposed") return this.#disposed?.(message.memory ?? null);
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    if (message.type === "result") return pending.onResult?.(message.index, message.result, message.total);
    this.#pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new IsoFormerError(message.error.code, message.error.message, message.error));
  }

  // Rejects every pending request with `error` (later calls reject with it too) and ends the worker,
  // unless `keepWorker` (dispose ends it once the model is freed).
  #fail(error, { keepWorker = false } = {}) {
    if (this.#broken) return;
    this.#broken = error;
    if (!keepWorker) this.#worker?.terminate();
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  // Requests run one after another: the worker holds one GPU queue, and interleaved calls would
  // only compete for it. Aborting `signal` rejects a call still waiting here at once (it is never
  // sent); a call the worker is running stops at its next checkpoint and rejects with ABORTED.
  #request(op, args, { signal, onResult, what = op } = {}) {
    if (signal?.aborted) return Promise.reject(abortError(signal, what));
    return new Promise((resolve, reject) => {
      let id = null;
      let settled = false;
      const onAbort = () => {
        if (id === null) settle(reject, abortError(signal, what));
        else this.#worker?.postMessage({ type: "abort", id });
      };
      const settle = (fn, value) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        fn(value);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const run = () => {
        if (settled) return undefined;
        if (this.#broken) return settle(reject, this.#broken);
        return new Promise((finished) => {
          id = this.#nextId++;
          const end = (fn) => (value) => {
            settle(fn, value);
            finished();
          };
          this.#pending.set(id, { resolve: end(resolve), reject: end(reject), onResult });
          try {
            this.#worker.postMessage({ id, op, args });
          } catch (error) {
            // A value structured clone cannot copy (a function, a symbol): the call is refused, not left pending.
            this.#pending.delete(id);
            end(reject)(invalid(`${what}: its arguments cannot be sent to the worker (${error.name}: ${error.message}); inputs and options are plain data`));
          }
        });
      };
      this.#queue = this.#queue.then(run, run);
    });
  }

  /**
   * Whether the cache holds every file a load of `weights` (a model id or a directory URL) needs
   * — its index, the manifests and every shard of the parts `modalities` asks for (default: all),
   * of `dtype` when given — so that it loads without the network.
   */
  static async isCached(weights, { dtype, modalities, revision } = {}) {
    if (typeof weights !== "string" && !(weights instanceof URL)) throw invalid("IsoFormer.isCached(weights): a model id or a weight directory URL");
    const parts = modalities ? ["dna", ...modalities, "aggregator"] : undefined;
    const complete = async (base) => {
      const own = await cachedModel(base, { parts });
      if (own && (!dtype || Object.values(own).every((d) => d === dtype))) return true;
      return Boolean(dtype && (await cachedModel(new URL(`${dtype}/`, base).href, { parts })));
    };
    const bases = isModelId(String(weights)) ? modelIdCandidates(String(weights), revision) : [absolute(String(weights)).replace(/\/?$/, "/")];
    for (const base of bases) if (await complete(base)) return true;
    return false;
  }

  /** `{ device, backend: "webgpu" | "cpu", lowMemory, wasmSimd, parallel, randomWeights, modalities, dtypes, weights }`. */
  get info() {
    return this.#info;
  }

  /**
   * Expression of the transcript in each of the 30 tissues. `inputs`: any non-empty subset of
   * `{ dna, rna, protein }` (plain sequences or FASTA text with one record). `options`: `maxTokens`
   * (RNA tokens with <cls>, default 2048), `crop` (RNA over it: "none" | "keep-start" | "keep-end"),
   * `cropDna` (over 196,608 bp: "none" | "centre"), `ambiguous` (IUPAC codes: "reject" | "as-n"),
   * `signal` (stops the prediction at its next stage, Enformer window or layer: ABORTED; the model
   * stays loaded).
   */
  async predict(inputs, options) {
    if (!inputs || typeof inputs !== "object") throw invalid("predict({ dna?, rna?, protein? }): an object is required");
    checkSequences("predict", inputs, MODALITIES);
    const { data, signal } = callOptions("predict", options, PREDICT_OPTIONS);
    return this.#request("predict", { inputs, options: data }, { signal, what: "the prediction" });
  }

  /**
   * Every transcript of one gene against its DNA window, the DNA embedding (most of the work)
   * computed once: `{ dna?, transcripts: [{ id, rna?, protein? }], onProgress?, signal?, …predict's
   * options }` → one prediction per transcript, with its `id`, in order. `onProgress({ status:
   * "predicted", index, id, result, done, total, progress })` as each is ready. Every transcript is
   * checked first; an error names its transcript (`error.transcript`).
   */
  async predictMany(request) {
    if (!request || typeof request !== "object") throw invalid("predictMany({ dna?, transcripts }): an object is required");
    const { dna, transcripts, onProgress, ...rest } = request;
    if (!Array.isArray(transcripts) || transcripts.length === 0) throw invalid("predictMany: `transcripts` must be a non-empty array of { id, rna?, protein? }");
    if (dna !== undefined && typeof dna !== "string") throw invalid("predictMany: dna must be a string");
    if (onProgress !== undefined && typeof onProgress !== "function") throw invalid("predictMany: onProgress must be a function");
    transcripts.forEach((t, i) => {
      if (!t || typeof t !== "object" || typeof t.id !== "string") throw invalid(`predictMany: transcript ${i} needs a string id`);
      checkSequences(`predictMany: transcript ${JSON.stringify(t.id)}`, t, ["id", "rna", "protein"]);
    });
    const { data, signal } = callOptions("predictMany", rest, PREDICT_OPTIONS);
    let done = 0;
    const onResult = (index, result) => {
      done += 1;
      onProgress?.({ status: "predicted", index, id: result.id, result, done, total: transcripts.length, progress: (100 * done) / transcripts.length });
    };
    const input = { transcripts: transcripts.map(({ id, rna, protein }) => ({ id, rna, protein })) };
    if (dna !== undefined) input.dna = dna;
    return this.#request("predictMany", { input, options: data }, { signal, onResult, what: "predictMany" });
  }

  /**
   * What each variant does to each transcript isoform of one gene, scored in the worker (nothing
   * leaves the page): `annotation` is `{ genbank }` (a GenBank record's text) or `{ gff, fasta }`
   * (GFF3 or GTF text and its sequence's FASTA); `variants` is VCF text (the header may be left
   * out; CHROM names the annotated sequence: its accession, `chr1` or `1`). Resolves to `{ tissues,
   * randomWeights, transcripts, variants, errors }`: per variant and transcript its consequences,
   * IsoFormer's Δ per tissue and share Δ, ESM-2's and NT-v2's masked marginals, NT-v2's embedding
   * distances and Enformer's track Δ; a bad VCF record is an entry of `errors` naming it (code
   * `INVALID_VARIANT` or `REF_MISMATCH`) and the others are still scored. `onProgress` gets
   * `{ status: "scored", index, variant | error, done, total, progress }` per record.
   */
  async scoreVariants(request) {
    if (!request || typeof request !== "object") throw invalid("scoreVariants({ annotation, variants }): an object is required");
    const { annotation, variants, gene, windowStrand, onProgress, ...rest } = request;
    if (!annotation || typeof annotation !== "object") throw invalid("scoreVariants: `annotation` is { genbank } or { gff, fasta }");
    for (const [key, value] of Object.entries(annotation)) {
      if (!ANNOTATION_FIELDS.includes(key)) throw invalid(`scoreVariants: unknown annotation field ${JSON.stringify(key)}; expected genbank, or gff and fasta`);
      if (typeof value !== "string") throw invalid(`scoreVariants: annotation.${key} must be the file's text`);
    }
    if (typeof variants !== "string") throw invalid("scoreVariants: `variants` must be VCF text");
    if (gene !== undefined && typeof gene !== "string") throw invalid("scoreVariants: `gene` must be a string");
    if (windowStrand !== undefined && !WINDOW_STRANDS.includes(windowStrand)) throw invalid(`scoreVariants: windowStrand ${JSON.stringify(windowStrand)}; expected ${WINDOW_STRANDS.join(" or ")}`);
    if (onProgress !== undefined && typeof onProgress !== "function") throw invalid("scoreVariants: onProgress must be a function");
    const { data, signal } = callOptions("scoreVariants", rest, PREDICT_OPTIONS);
    let done = 0;
    const onResult = (index, entry, total) => {
      done += 1;
      const scored = entry.error ? { error: entry.error } : { variant: entry };
      onProgress?.({ status: "scored", index, ...scored, done, total, progress: (100 * done) / total });
    };
    const input = { annotation, vcf: variants };
    if (gene !== undefined) input.gene = gene;
    if (windowStrand !== undefined) input.windowStrand = windowStrand;
    return this.#request("scoreVariants", { input, options: data }, { signal, onResult, what: "scoreVariants" });
  }

  /**
   * One encoder's last hidden state: `{ data: Float32Array, shape: [rows, width], ... }`. With
   * `options.layer` (protein, RNA): the hidden states of that layer or those layers (0 = the
   * embeddings, negative counts from the end) from one pass, pooled as `options.pooling` says
   * (`"mean"` by default, `"cls"` or `"none"`): `{ tokens, pooling, layers: [{ layer, index, shape, data }] }`.
   */
  async embed(modality, sequence, options) {
    if (!MODALITIES.includes(modality)) throw invalid(`embed: modality ${JSON.stringify(modality)}; expected dna, rna or protein`);
    if (typeof sequence !== "string") throw invalid("embed: the sequence must be a string");
    const { data, signal } = callOptions("embed", options, EMBED_OPTIONS);
    return this.#request("embed", { modality, sequence, options: data }, { signal, what: "the embedding" });
  }

  /**
   * Memory diagnostics, read between calls: `{ wasmBytes, deviceAllocations, deviceBytesInUse,
   * deviceBytesReserved }` — the worker's wasm heap and Burn's memory pool on the GPU device
   * (`null` device fields on the CPU backend). For watching long use, not needed to run a model.
   */
  async memoryUsage() {
    return this.#request("memoryUsage", {}, { what: "memoryUsage" });
  }

  // Testing hook, not public API: destroys the GPU device as a driver reset would (the running
  // call and later ones reject with DEVICE_LOST). Sent at once, not queued behind the running call,
  // so a loss in the middle of a prediction can be tested; resolves to `{ running }`, the operation
  // the worker was running then (or null). Reached through `loseDevice(model)` of "isoformer-web/testing".
  [LOSE_DEVICE]() {
    return this.#hook({ type: "lose-device" });
  }

  // Testing hook, not public API: the CPU fallback's helper workers die at their `after + 1`-th
  // embedding from now, as workers whose script failed; resolves to `{ helpers }`, how many there
  // are. Reached through `crashHelpers(model)` of "isoformer-web/testing".
  [CRASH_HELPERS](after) {
    return this.#hook({ type: "crash-helpers", after });
  }

  // A test hook's message, sent at once (not queued behind the running call); resolves to its answer.
  #hook(message) {
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id });
    });
  }

  /**
   * Frees the model's GPU memory and ends its worker. Pending and later calls reject with DISPOSED.
   * Resolves once done, to the memory reading (as `memoryUsage()`) taken once the model was freed
   * and Burn's pool had handed its free pages back to the device — a diagnostic; null when the
   * worker was busy or gone and ended without one. Also `await using model = await IsoFormer.load(…)`.
   */
  async dispose() {
    if (this.#broken) return null;
    const worker = this.#worker;
    // The worker answers "disposed" once the model is freed (a busy CPU call may delay it: then the
    // worker is ended anyway, which frees everything too).
    const freed = new Promise((resolve) => {
      this.#disposed = resolve;
      setTimeout(() => resolve(null), 2000);
    });
    this.#fail(new IsoFormerError("DISPOSED", "the model was disposed"), { keepWorker: true });
    worker.postMessage({ type: "dispose" });
    const memory = await freed;
    worker.terminate();
    return memory;
  }
}

if (Symbol.asyncDispose) IsoFormer.prototype[Symbol.asyncDispose] = IsoFormer.prototype.dispose;

const LOAD_TOKEN = Symbol("IsoFormer.load");

export { cachedFetch, listCachedWeights, deleteCachedWeights, CACHE_NAME } from "./weights-cache.js";
IsoFormer.env = env;
