// The worker behind index.js: owns the wasm module, the GPU device and one IsoformerModel, and
// answers one request at a time ({ id, op, args } → { id, ok, result | error }). Progress,
// warnings, per-transcript results, changes to the model's info and device loss are posted as they
// happen ({ type: "progress" | "warning" | "result" | "info" | "lost" | "fatal" | "disposed" }).
// Out of turn: `{ type: "abort", id }` aborts that request at its next checkpoint;
// `{ type: "dispose" }` frees the model and the device ("disposed" carries the memory reading taken
// then); `{ type: "lose-device", id }` (a test hook) destroys the device at once, even while a
// request runs; `{ type: "crash-helpers", id, after }` (another) makes the helper workers below die
// at their `after + 1`-th embedding.
//
// On the CPU backend (no WebGPU), `predict` and `predictMany` also use helper workers
// (encoder-worker.js, one per RNA and protein encoder, each its own wasm instance): this worker
// tokenizes, the helpers embed while this worker runs Enformer, and the aggregator reads their
// hidden states (three cores instead of one; `parallel: false` turns it off).
import init, { IsoformerModel, builtWithSimd, releaseDeviceMemory } from "./pkg/isoformer.js";
import { CACHE_NAME, cachedFetch } from "./weights-cache.js";

let model = null;
let helpers = null; // { rna?: Helper, protein?: Helper } on the parallel CPU fallback
let gpuDevice = null;
let gpuLost = null; // gpuDevice.lost, once the handler below has run
let settings = null;
let started = false; // the wasm module is initialised
let lost = null; // the device-loss message, once the device is gone

// Burn creates the WebGPU device inside the wasm module; wrapping requestDevice lets this worker
// see it, so a lost device becomes a typed error (and, for tests, can be destroyed on purpose).
if (globalThis.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    gpuDevice = device;
    gpuLost = device.lost.then((info) => deviceLost(`${info.reason ?? "unknown"}${info.message ? `: ${info.message}` : ""}`));
    return device;
  };
}

// Reported once: every pending and later call of the page's model rejects with DEVICE_LOST.
function deviceLost(why) {
  if (lost) return;
  model = null;
  lost = `the GPU device was lost (${why}); load the model again`;
  postMessage({ type: "lost", message: lost });
}

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// An index or manifest through the load's fetch hook (fetched once per load; offline, the cached copy).
// A NETWORK_ERROR keeps the HTTP status when there was an answer (`status`).
async function getJson(fetchDocument, url) {
  let bytes;
  try {
    bytes = await fetchDocument(url, null);
  } catch (error) {
    throw Object.assign(new ApiError("NETWORK_ERROR", `could not fetch ${url}: ${error.message}`), { status: error.status });
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError("INVALID_MANIFEST", `${url} is not JSON`);
  }
}

// One helper worker (encoder-worker.js) and its requests.
class Helper {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #failed = null;

  constructor(modality) {
    this.#worker = startHelper();
    this.#worker.onmessage = ({ data }) => {
      const pending = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if (data.ok) pending?.resolve(data.result);
      else pending?.reject(new ApiError(data.error.code, `the ${modality} helper worker: ${data.error.message}`));
    };
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#failed = new ApiError("WORKER_ERROR", `the ${modality} helper worker failed: ${event.message ?? "it could not start"}`);
      for (const { reject } of this.#pending.values()) reject(this.#failed);
      this.#pending.clear();
    };
  }

  // Resolves with the answer; `cancel()` on the returned job drops it if it has not started.
  request(op, args) {
    const id = this.#nextId++;
    const answer = this.#failed
      ? Promise.reject(this.#failed)
      : new Promise((resolve, reject) => {
          this.#pending.set(id, { resolve, reject });
          this.#worker.postMessage({ id, op, args });
        });
    return { answer, cancel: () => this.#worker.postMessage({ type: "cancel", id }) };
  }

  // The test hook (crashHelpers): this helper dies at its `after + 1`-th embedding from now.
  crashAfter(after) {
    this.#worker.postMessage({ type: "crash", after });
  }

  terminate() {
    this.#worker.terminate();
  }
}

// encoder-worker.js beside this script. A worker started from a blob module (index.js does that for
// a package served from another origin, a CDN) may not start a cross-origin script directly: a
// same-origin blob module that imports it can.
// (Written out as `new Worker(new URL("./encoder-worker.js", import.meta.url), { …literal… })` so
// bundlers see it and emit the helper too: Vite reads only literal options. The origin check reads
// the name from a variable, which bundlers leave alone: Vite would inline a literal one as a data: URL.)
const HELPER_FILE = "./encoder-worker.js";
function startHelper() {
  const url = new URL(HELPER_FILE, import.meta.url);
  if (url.origin === globalThis.location?.origin)
    return new Worker(new URL("./encoder-worker.js", import.meta.url), { type: "module", name: "isoformer-web encoder" });
  const shim = new Blob([`import ${JSON.stringify(url.href)};\n`], { type: "text/javascript" });
  return new Worker(URL.createObjectURL(shim), { type: "module", name: "isoformer-web encoder" });
}

// The helpers of a model loaded on the CPU, one per encoder it has besides Enformer, each loading
// that part: its manifest from `documents` (what the main load read), its shards from the cache
// the main load just filled (`cache: false`: from the network again). null when this browser cannot run them or
// one fails to load (a warning says why; predictions then run here alone).
async function startHelpers(source, modalities, { cache, documents }, warn) {
  if (typeof Worker === "undefined" || (globalThis.navigator?.hardwareConcurrency ?? 1) < 2) return null;
  const started = {};
  try {
    // Both load at once, each on its own core.
    const loads = ["rna", "protein"]
      .filter((m) => modalities.includes(m))
      .map((modality) => {
        const url = typeof source === "string" ? `${source}${modality}` : source[modality];
        started[modality] = new Helper(modality);
        return started[modality].request("load", { url, cache, documents }).answer;
      });
    await Promise.all(loads);
    return Object.keys(started).length ? started : null;
  } catch (error) {
    Object.values(started).forEach((helper) => helper.terminate());
    warn(`the encoders run one after another on this CPU (a helper worker could not load: ${error.message})`);
    return null;
  }
}

function stopHelpers() {
  Object.values(helpers ?? {}).forEach((helper) => helper.terminate());
  helpers = null;
}

// The RNA and protein token ids `tokenIds` gave, embedded by the helpers: `{ promise, cancel }`,
// the promise resolving to `{ rna?, protein? }` hidden states, or rejecting with the helper's
// error — or with ABORTED as soon as `signal` is aborted.
function encodeElsewhere(ids, signal) {
  const jobs = Object.entries(ids).map(([modality, tokens]) => [modality, helpers[modality].request("embed", { ids: tokens })]);
  const cancel = () => jobs.forEach(([, job]) => job.cancel());
  const all = Promise.all(jobs.map(async ([modality, job]) => [modality, await job.answer])).then(Object.fromEntries);
  const aborted = new Promise((_, reject) => {
    const stop = () => reject(new ApiError("ABORTED", "the prediction was aborted"));
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  });
  const promise = Promise.race([all, aborted]);
  promise.catch(() => cancel()); // nothing is left queued for a call that failed
  return { promise, cancel };
}

// Runs `call(watch)`, a prediction whose encoders run in the helpers (`watch(promise)` passes an
// encoding on, noting a helper's failure); a failure caused by a helper rejects with the helper's
// error, and `cancel()` drops the encodings still queued. A helper that fails outside the model
// (its module, its memory) ends the parallel fallback: what is left of the call runs again here
// alone (`alone()`).
async function withHelpers(call, cancel, alone) {
  let helperError = null;
  const watch = (promise) => {
    const watched = promise.catch((error) => {
      helperError ??= error;
      throw error;
    });
    watched.catch(() => {}); // a call that failed before reading it leaves no unhandled rejection
    return watched;
  };
  try {
    return await call(watch);
  } catch (error) {
    cancel();
    if (helperError?.code !== "WORKER_ERROR") throw helperError ?? error;
    stopHelpers();
    postMessage({ type: "info", changes: { parallel: false } });
    postMessage({ type: "warning", warning: `the encoders run one after another from now on (${helperError.message})` });
    return alone();
  }
}

const PARTS = ["dna", "rna", "protein", "aggregator"];

// `<base>isoformer.json`, checked to be an index whose parts are only known part names: they
// become URLs below, so anything else ("../x", a URL) is refused before it is fetched.
async function readIndex(fetchDocument, base) {
  const index = await getJson(fetchDocument, new URL("isoformer.json", base).href);
  if (index?.model !== "isoformer" || !Array.isArray(index.parts))
    throw new ApiError("INVALID_MANIFEST", `${base}isoformer.json is not an IsoFormer weight index`);
  const stranger = index.parts.find((part) => !PARTS.includes(part));
  if (stranger !== undefined)
    throw new ApiError("INVALID_MANIFEST", `${base}isoformer.json lists the part ${JSON.stringify(stranger)}; parts are ${PARTS.join(", ")}`);
  return index;
}

// The storage type of each part of an IsoFormer weight directory (from the parts' manifests).
async function dtypesOf(fetchDocument, base, parts) {
  const dtypeOf = async (part) => {
    const url = new URL(`${part}/manifest.json`, base).href;
    const manifest = await getJson(fetchDocument, url);
    if (!manifest || typeof manifest !== "object" || Array.isArray(manifest)) throw new ApiError("INVALID_MANIFEST", `${url} is not a weight manifest`);
    return [part, manifest.dtype ?? "f32"];
  };
  return Object.fromEntries(await Promise.all(parts.map(dtypeOf)));
}

// A model published in several dtypes keeps each in a subdirectory named after it (`q8/`, `f16/`…);
// a directory whose own parts are all of the requested dtype is used as it is.
async function resolveWeights(fetchDocument, weights, dtype) {
  if (typeof weights !== "string") return { source: weights, dtypes: null };
  const base = weights.endsWith("/") ? weights : `${weights}/`;
  const index = await readIndex(fetchDocument, base);
  const own = await dtypesOf(fetchDocument, base, index.parts);
  if (!dtype || Object.values(own).every((d) => d === dtype)) return { source: base, dtypes: own };
  const variant = new URL(`${dtype}/`, base).href;
  const variantIndex = await readIndex(fetchDocument, variant).catch((error) => {
    if (error.status === undefined) throw error; // no answer at all, not JSON, or not an index
    const have = [...new Set(Object.values(own))].join("+");
    throw new ApiError("DTYPE_UNAVAILABLE", `${base} holds ${have} weights and has no ${dtype}/ variant`);
  });
  return { source: variant, dtypes: await dtypesOf(fetchDocument, variant, variantIndex.parts) };
}

// WebGPU when asked for, or with "auto" when the browser offers an adapter; otherwise the CPU.
// (wgpu's web backend is not asked for a device the browser cannot give: it may panic instead of failing.)
async function pickDevice(choice) {
  if (choice === "cpu") return "cpu";
  let adapter = null;
  try {
    adapter = globalThis.navigator?.gpu ? await navigator.gpu.requestAdapter() : null;
  } catch {
    adapter = null;
  }
  if (adapter) return "webgpu";
  if (choice === "webgpu") throw new ApiError("NO_GPU", "this browser offers no WebGPU adapter (use device: \"auto\" or \"cpu\")");
  return "cpu";
}

// The smallest module that uses a SIMD instruction (v128.const, i8x16.popcnt): the shipped module
// is built with simd128, and a browser without it would fail to compile it with a bare CompileError.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

const operations = {
  async load(args) {
    settings = args;
    if (!WebAssembly.validate(SIMD_PROBE))
      throw new ApiError("NO_WASM_SIMD", "this browser's WebAssembly has no SIMD (simd128), which isoformer-web is built with; use a current Chrome, Edge, Firefox or Safari");
    await init();
    started = true;
    const warn = (warning) => postMessage({ type: "warning", warning });
    // The cache's byte-level download events carry no totals: they get the loader's latest.
    let totals = { loaded: 0, total: 0 };
    let furthest = 0;
    const onProgress = (event) => {
      if (event.total !== undefined) totals = { loaded: event.loaded, total: event.total };
      const full = { ...totals, ...event };
      // Never lower than an earlier event's: a shard's verify step comes after its download counted it.
      furthest = Math.max(furthest, progressOf(full));
      postMessage({ type: "progress", event: { status: full.stage, progress: furthest, ...full } });
    };
    // One hook for the whole load: the index and each manifest are fetched once (here and in the
    // wasm loader), kept in the cache with the shards, and read from it when offline.
    const cached = cachedFetch({ cacheName: args.cache ? CACHE_NAME : null, onWarning: warn, onProgress });
    // The index and manifests this load reads (no `expected`: not a shard), kept for the helper
    // workers, which then read their manifest from here rather than fetch it again.
    const documents = {};
    const fetchHook = async (url, expected) => {
      const bytes = await cached(url, expected);
      if (!expected) documents[url] = bytes.slice(0); // a copy: the loader may detach the buffer it is given
      return bytes;
    };
    const { source, dtypes } = await resolveWeights(fetchHook, args.weights, args.dtype);
    const device = await pickDevice(args.device);
    const options = { device, lowMemory: args.lowMemory, fusion: args.fusion, onProgress, fetch: fetchHook };
    if (args.modalities) options.modalities = args.modalities;
    model = await IsoformerModel.load(source, options);
    stopHelpers();
    if (device === "cpu" && args.parallel && !args.lowMemory) helpers = await startHelpers(source, model.modalities, { cache: args.cache, documents }, warn);
    const info = model.info;
    return {
      device: info.device,
      backend: device === "cpu" ? "cpu" : "webgpu",
      lowMemory: info.lowMemory,
      wasmSimd: builtWithSimd(),
      parallel: helpers !== null,
      randomWeights: info.randomWeights,
      modalities: model.modalities,
      dtypes,
      weights: typeof source === "string" ? source : { ...source },
    };
  },
  async predict({ inputs, options }, { signal }) {
    const alone = async () => plainPrediction(await loaded().predict(inputs, { ...options, signal }));
    if (!helpers) return alone();
    // Checks every input first (a typed error, before any work), then the helpers start.
    const job = encodeElsewhere(loaded().tokenIds(inputs, options), signal);
    const predict = (watch) => loaded().predict(inputs, { ...options, signal, encoded: watch(job.promise) });
    return plainPrediction(await withHelpers(predict, job.cancel, alone));
  },
  async predictMany({ input, options }, { signal, id }) {
    // Each result is posted as it is ready (copied: the final answer transfers the same arrays), and
    // kept: when a helper fails, the transcripts not yet predicted run again here alone.
    const done = [];
    const onResult = (index, result) => {
      done[index] = result;
      postMessage({ type: "result", id, index, result: plainPrediction(result) });
    };
    if (!helpers) return (await loaded().predictMany(input, { ...options, signal, onResult })).map(plainPrediction);
    // Every transcript is checked before any work (the DNA with the first, as predictMany names it).
    const ids = input.transcripts.map((transcript, index) => {
      try {
        return loaded().tokenIds({ dna: index === 0 ? input.dna : undefined, rna: transcript.rna, protein: transcript.protein }, options);
      } catch (error) {
        throw Object.assign(error, { transcript: transcript.id });
      }
    });
    // The helpers work a few transcripts ahead of the aggregator, no further: each finished
    // embedding waiting here holds its hidden states in memory.
    const AHEAD = 3;
    const jobs = [];
    const start = (index) => {
      if (index < ids.length) jobs[index] ??= encodeElsewhere(ids[index], signal);
    };
    for (let i = 0; i < AHEAD; i++) start(i);
    const encodedBy = (watch) => (index) => {
      start(index);
      start(index + AHEAD);
      return watch(jobs[index].promise);
    };
    const many = (watch) => loaded().predictMany(input, { ...options, signal, onResult, encoded: encodedBy(watch) });
    const cancel = () => jobs.forEach((job) => job?.cancel());
    // After a helper's failure: the transcripts from the first without a result (those before it
    // were posted, in order), here alone.
    const rest = async () => {
      const first = done.length;
      const transcripts = input.transcripts.slice(first);
      const results = await loaded().predictMany({ ...input, transcripts }, { ...options, signal, onResult: (index, result) => onResult(first + index, result) });
      return [...done.slice(0, first), ...results];
    };
    return (await withHelpers(many, cancel, rest)).map(plainPrediction);
  },
  async scoreVariants({ input, options }, { signal, id }) {
    // Each record's scores are posted as they are ready (plain objects: copied, like the answer).
    const onResult = (index, entry, total) => postMessage({ type: "result", id, index, total, result: entry });
    return loaded().scoreVariants(input, { ...options, signal, onResult });
  },
  async embed({ modality, sequence, options }, { signal }) {
    return loaded().embed(modality, sequence, { ...options, signal });
  },
  async memoryUsage() {
    return loaded().memoryUsage();
  },
};

function plainPrediction(p) {
  const plain = { tissues: p.tissues, values: p.values, units: p.units, randomWeights: p.randomWeights, modalities: p.modalities, stages: p.stages };
  return p.id === undefined ? plain : { id: p.id, ...plain };
}

// transformers.js's `progress` for a loader event: the percent of all the model's bytes loaded, the
// shard being downloaded counted as far as it has arrived.
function progressOf(event) {
  const arrived = event.loaded + (event.stage === "download" ? event.fileLoaded ?? 0 : 0);
  return event.stage === "ready" ? 100 : event.total > 0 ? Math.min(100, (100 * arrived) / event.total) : 0;
}

function loaded() {
  if (!model) throw new ApiError("DISPOSED", settings ? "the model is gone (its device was lost)" : "no model is loaded");
  return model;
}

// Float32Arrays go back without a copy.
function transferables(value, found = []) {
  if (ArrayBuffer.isView(value)) found.push(value.buffer);
  else if (value && typeof value === "object") for (const inner of Object.values(value)) transferables(inner, found);
  return found;
}

let queue = Promise.resolve();
let running = null; // { id, op, controller } of the request being answered

// index.js sends a request only once the previous one is answered, so an abort is for the running
// request, or arrives after its answer (then there is nothing to stop).
function abort(id) {
  if (running?.id === id) running.controller.abort(new Error("the caller aborted the call"));
}

// Frees the model and the GPU device now (before the page terminates this worker).
function dispose() {
  running?.controller.abort(new Error("the model was disposed"));
  try {
    model?.free();
  } catch {
    // A model still in use by the aborted call: terminating the worker frees it.
  }
  model = null;
  stopHelpers();
  // Burn's pool once the model's tensors are gone: what disposing gave back (a diagnostic). Read
  // only between calls: a call still unwinding holds the device's state.
  let memory = null;
  try {
    if (started && !running && !lost) memory = releaseDeviceMemory();
  } catch {
    memory = null;
  }
  gpuDevice?.destroy();
  gpuDevice = null;
  postMessage({ type: "disposed", memory });
}

// The test hook crashHelpers: each helper worker dies at its `after + 1`-th embedding from now, so
// that the fallback to this worker alone can be tested. Answers how many helpers there are.
function crashHelpers(id, after) {
  const all = Object.values(helpers ?? {});
  all.forEach((helper) => helper.crashAfter(after));
  postMessage({ id, ok: true, result: { helpers: all.length } });
}

// The test hook acts at once, not after the running request: a device lost in the middle of a
// call is what it simulates. Answers which request was running; the loss itself is reported as a
// real one is, by the device's `lost` handler above once the browser resolves it.
function loseDevice(id) {
  if (!gpuDevice) {
    postMessage({ id, ok: false, error: { code: "INVALID_ARGUMENT", message: "this model runs on the CPU: there is no GPU device to lose" } });
    return;
  }
  const interrupted = running?.op ?? null;
  gpuDevice.destroy();
  postMessage({ id, ok: true, result: { running: interrupted } });
}

// A GPU call that fails as its device goes (a readback refused, a panic in the GPU stack) may fail
// before the browser resolves `device.lost`: such a failure waits a moment for it, so that it is
// reported as the loss. Errors about the input never wait.
async function settleDeviceLoss(error) {
  const gpuFailure = !error?.code || error.code === "DEVICE_ERROR";
  if (!gpuLost || lost || !gpuFailure) return;
  await Promise.race([gpuLost, new Promise((resolve) => setTimeout(resolve, 1000))]);
}

onmessage = ({ data }) => {
  if (data.type === "abort") return abort(data.id);
  if (data.type === "dispose") return dispose();
  if (data.type === "lose-device") return loseDevice(data.id);
  if (data.type === "crash-helpers") return crashHelpers(data.id, data.after);
  const { id, op, args } = data;
  queue = queue.then(async () => {
    try {
      const operation = operations[op];
      if (!operation) throw new ApiError("INVALID_ARGUMENT", `unknown operation ${op}`);
      running = { id, op, controller: new AbortController() };
      const result = await operation(args, { signal: running.controller.signal, id });
      postMessage({ id, ok: true, result }, transferables(result));
    } catch (error) {
      await settleDeviceLoss(error);
      // A call cut short by the device's loss fails as the loss, whatever the GPU stack said.
      if (lost) {
        postMessage({ id, ok: false, error: { code: "DEVICE_LOST", message: lost } });
      } else if (error?.code) {
        postMessage({ id, ok: false, error: { code: error.code, message: error.message, transcript: error.transcript } });
      } else {
        // A Rust panic (or the wasm module failing to load) leaves the module unusable: end this worker.
        postMessage({ id, ok: false, error: { code: "WORKER_ERROR", message: `${error?.name ?? "Error"}: ${error?.message ?? error}` } });
        postMessage({ type: "fatal", message: String(error?.message ?? error) });
      }
    } finally {
      running = null;
    }
  });
};
