// isoformer-web's JavaScript API: IsoFormer (and its three encoders) in a dedicated Web Worker,
// on WebGPU or, without it, on the CPU. The wasm-bindgen module (./pkg) is an internal detail of
// the worker (./worker.js); this file only sends it requests, one at a time per model.
//
//   import { IsoFormer } from "isoformer-web";
//   const model = await IsoFormer.load({ weights: "/models/isoformer/", onProgress: console.log });
//   const { tissues, values } = await model.predict({ dna, rna, protein });
//   const { data, shape } = await model.embed("protein", "MKTAYIAKQRQ");
//   model.dispose();

/** Error codes produced by the Rust core (src/error.rs; a test keeps the two lists equal). */
export const CORE_ERROR_CODES = Object.freeze([
  "INVALID_CHARACTER", "EMPTY_SEQUENCE", "SEQUENCE_TOO_LONG", "WRONG_MODALITY", "INVALID_FASTA", "INVALID_CONFIG",
  "INVALID_MANIFEST", "WEIGHTS_CORRUPT", "INVALID_WEIGHT_FILE", "CHECKPOINT_MISMATCH", "NO_GPU", "DEVICE_ERROR",
  "NETWORK_ERROR", "IO_ERROR", "INVALID_ARGUMENT",
]);

/** Error codes of the JavaScript layer: the worker and the model's lifetime. */
export const API_ERROR_CODES = Object.freeze([
  "DEVICE_LOST", // the GPU device was lost (driver reset, too much memory): load the model again
  "ABORTED", // `signal` was aborted
  "DISPOSED", // the model was disposed (or lost) before or during the call
  "WORKER_ERROR", // the worker failed outside the model (e.g. the wasm module could not be fetched)
  "DTYPE_UNAVAILABLE", // no weights of the requested dtype at that URL
  "NO_WASM_SIMD", // the browser's WebAssembly lacks SIMD (every browser with WebGPU has it)
]);

/** An error with a stable `code` (one of CORE_ERROR_CODES or API_ERROR_CODES). */
export class IsoFormerError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "IsoFormerError";
    this.code = code;
  }
}

const DEVICES = ["auto", "webgpu", "cpu"];
const DTYPES = ["f32", "f16", "q8", "q4"];
const MODALITIES = ["dna", "rna", "protein"];

function invalid(message) {
  return new IsoFormerError("INVALID_ARGUMENT", message);
}

// The worker's URL, written so bundlers (Vite, webpack 5, esbuild, Parcel) see it and emit the worker.
function startWorker() {
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "isoformer-web" });
}

// Resolves a weights URL against the page, so the worker (whose base URL is its script) reads it as the page does.
function absolute(url) {
  return new URL(url, globalThis.location?.href).href;
}

function checkOptions(options) {
  if (!options || typeof options !== "object") throw invalid("IsoFormer.load({ weights, ... }): an options object is required");
  const known = ["weights", "modalities", "dtype", "device", "lowMemory", "cache", "fusion", "onProgress", "onWarning", "signal"];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw invalid(`IsoFormer.load: unknown option ${JSON.stringify(key)}; known: ${known.join(", ")}`);
  const { weights, modalities, dtype, device = "auto" } = options;
  const isUrl = typeof weights === "string" || weights instanceof URL;
  const isParts = weights && typeof weights === "object" && !isUrl;
  if (!isUrl && !isParts) throw invalid("IsoFormer.load: `weights` must be a URL (an IsoFormer weight directory) or { dna, rna?, protein?, aggregator }");
  if (modalities !== undefined && (!Array.isArray(modalities) || modalities.some((m) => m !== "rna" && m !== "protein")))
    throw invalid('IsoFormer.load: `modalities` must be an array of "rna" and "protein" (DNA is always read)');
  if (dtype !== undefined && !DTYPES.includes(dtype)) throw invalid(`IsoFormer.load: dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(", ")}`);
  if (!DEVICES.includes(device)) throw invalid(`IsoFormer.load: device ${JSON.stringify(device)}; expected one of ${DEVICES.join(", ")}`);
  // Per-part URLs already name what to load: an option that would pick something else is refused, not ignored.
  if (isParts && (dtype !== undefined || modalities !== undefined))
    throw invalid("IsoFormer.load: `dtype` and `modalities` apply to one IsoFormer directory URL; with per-part URLs, give the parts you want");
  const parts = isParts ? Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, absolute(v)])) : null;
  if (options.fusion !== undefined && typeof options.fusion !== "boolean") throw invalid("IsoFormer.load: `fusion` must be true or false");
  return { weights: isUrl ? absolute(String(weights)) : parts, modalities, dtype, device, lowMemory: Boolean(options.lowMemory), cache: options.cache !== false, fusion: options.fusion !== false };
}

function abortError(signal) {
  const reason = signal?.reason instanceof Error ? `: ${signal.reason.message}` : "";
  return new IsoFormerError("ABORTED", `the load was aborted${reason}`);
}

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

  constructor(token) {
    if (token !== LOAD_TOKEN) throw new TypeError("use `await IsoFormer.load({ weights })`");
  }

  /**
   * Starts a worker, fetches the weights (only the parts `modalities` needs; through the Cache API
   * unless `cache: false`), builds the model on `device` and runs a warm-up prediction.
   */
  static async load(options) {
    const settings = checkOptions(options);
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    const model = new IsoFormer(LOAD_TOKEN);
    model.#onProgress = typeof options.onProgress === "function" ? options.onProgress : null;
    model.#onWarning = typeof options.onWarning === "function" ? options.onWarning : (warning) => console.warn(`isoformer-web: ${warning}`);
    model.#start();
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

  #start() {
    this.#worker = startWorker();
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
    if (message.type === "lost") return this.#fail(new IsoFormerError("DEVICE_LOST", message.message));
    if (message.type === "fatal") return this.#fail(new IsoFormerError("WORKER_ERROR", `the worker stopped: ${message.message}; load the model again`));
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new IsoFormerError(message.error.code, message.error.message));
  }

  // Ends the worker and rejects every pending request with `error`; later calls reject with it too.
  #fail(error) {
    if (this.#broken) return;
    this.#broken = error;
    this.#worker?.terminate();
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  // Requests run one after another: the worker holds one GPU queue, and interleaved calls would
  // only compete for it.
  #request(op, args, transfer = []) {
    const run = () => {
      if (this.#broken) return Promise.reject(this.#broken);
      return new Promise((resolve, reject) => {
        const id = this.#nextId++;
        this.#pending.set(id, { resolve, reject });
        this.#worker.postMessage({ id, op, args }, transfer);
      });
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** `{ device, backend: "webgpu" | "cpu", lowMemory, randomWeights, modalities, dtype, weights }`. */
  get info() {
    return this.#info;
  }

  /**
   * Expression of the transcript in each of the 30 tissues. `inputs`: any non-empty subset of
   * `{ dna, rna, protein }` (plain sequences or FASTA text with one record).
   */
  async predict(inputs) {
    if (!inputs || typeof inputs !== "object") throw invalid("predict({ dna?, rna?, protein? }): an object is required");
    for (const key of Object.keys(inputs)) if (!MODALITIES.includes(key)) throw invalid(`predict: unknown input ${JSON.stringify(key)}; expected dna, rna or protein`);
    for (const [key, value] of Object.entries(inputs)) if (value !== undefined && typeof value !== "string") throw invalid(`predict: ${key} must be a string`);
    return this.#request("predict", inputs);
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
    if (options !== undefined && (options === null || typeof options !== "object")) throw invalid("embed: options must be an object");
    return this.#request("embed", { modality, sequence, options });
  }

  /**
   * Destroys the model's GPU device (as a driver reset would). For testing an application's
   * recovery: later calls reject with DEVICE_LOST, and `IsoFormer.load` works again.
   */
  async simulateDeviceLoss() {
    return this.#request("lose-device", {});
  }

  /** Frees the model's GPU memory and ends its worker; later calls reject with DISPOSED. */
  dispose() {
    this.#fail(new IsoFormerError("DISPOSED", "the model was disposed"));
  }
}

const LOAD_TOKEN = Symbol("IsoFormer.load");

export { cachedFetch, listCachedWeights, deleteCachedWeights, CACHE_NAME } from "./weights-cache.js";
