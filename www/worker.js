// The worker behind index.js: owns the wasm module, the GPU device and one IsoformerModel, and
// answers one request at a time ({ id, op, args } → { id, ok, result | error }). Progress,
// warnings and device loss are posted as they happen ({ type: "progress" | "warning" | "lost" | "fatal" }).
import init, { IsoformerModel, builtWithSimd } from "./pkg/isoformer.js";
import { cachedFetch } from "./weights-cache.js";

let model = null;
let gpuDevice = null;
let settings = null;

// Burn creates the WebGPU device inside the wasm module; wrapping requestDevice lets this worker
// see it, so a lost device becomes a typed error (and, for tests, can be destroyed on purpose).
if (globalThis.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    gpuDevice = device;
    device.lost.then((info) => {
      model = null;
      postMessage({ type: "lost", message: `the GPU device was lost (${info.reason ?? "unknown"}${info.message ? `: ${info.message}` : ""}); load the model again` });
    });
    return device;
  };
}

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new ApiError("NETWORK_ERROR", `HTTP ${response.status} for ${url}`);
  try {
    return await response.json();
  } catch {
    throw new ApiError("INVALID_MANIFEST", `${url} is not JSON`);
  }
}

// The storage type of each part of an IsoFormer weight directory (from the parts' manifests).
async function dtypesOf(base, parts) {
  const entries = await Promise.all(parts.map(async (part) => [part, (await getJson(new URL(`${part}/manifest.json`, base).href)).dtype ?? "f32"]));
  return Object.fromEntries(entries);
}

// A model published in several dtypes keeps each in a subdirectory named after it (`q8/`, `f16/`…);
// a directory whose own parts are all of the requested dtype is used as it is.
async function resolveWeights(weights, dtype) {
  if (typeof weights !== "string") return { source: weights, dtypes: null };
  const base = weights.endsWith("/") ? weights : `${weights}/`;
  const index = await getJson(new URL("isoformer.json", base).href);
  if (index.model !== "isoformer" || !Array.isArray(index.parts))
    throw new ApiError("INVALID_MANIFEST", `${base}isoformer.json is not an IsoFormer weight index`);
  const own = await dtypesOf(base, index.parts);
  if (!dtype || Object.values(own).every((d) => d === dtype)) return { source: base, dtypes: own };
  const variant = new URL(`${dtype}/`, base).href;
  const response = await fetch(new URL("isoformer.json", variant).href, { method: "HEAD" });
  if (!response.ok) {
    const have = [...new Set(Object.values(own))].join("+");
    throw new ApiError("DTYPE_UNAVAILABLE", `${base} holds ${have} weights and has no ${dtype}/ variant`);
  }
  const variantIndex = await getJson(new URL("isoformer.json", variant).href);
  return { source: variant, dtypes: await dtypesOf(variant, variantIndex.parts ?? []) };
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
    const { source, dtypes } = await resolveWeights(args.weights, args.dtype);
    const device = await pickDevice(args.device);
    const warn = (warning) => postMessage({ type: "warning", warning });
    // The cache's byte-level download events carry no totals: they get the loader's latest.
    let totals = { loaded: 0, total: 0 };
    const onProgress = (event) => {
      if (event.total !== undefined) totals = { loaded: event.loaded, total: event.total };
      postMessage({ type: "progress", event: { ...totals, ...event } });
    };
    const options = { device, lowMemory: args.lowMemory, fusion: args.fusion, onProgress };
    if (args.modalities) options.modalities = args.modalities;
    if (args.cache) options.fetch = cachedFetch({ onWarning: warn, onProgress });
    model = await IsoformerModel.load(source, options);
    const info = model.info;
    return {
      device: info.device,
      backend: device === "cpu" ? "cpu" : "webgpu",
      lowMemory: info.lowMemory,
      wasmSimd: builtWithSimd(),
      randomWeights: info.randomWeights,
      modalities: model.modalities,
      dtypes,
      weights: typeof source === "string" ? source : { ...source },
    };
  },
  async predict(inputs) {
    const prediction = await loaded().predict(inputs);
    return { tissues: prediction.tissues, values: prediction.values, units: prediction.units, randomWeights: prediction.randomWeights, modalities: prediction.modalities, stages: prediction.stages };
  },
  async embed({ modality, sequence, options }) {
    return loaded().embed(modality, sequence, options);
  },
  async "lose-device"() {
    if (!gpuDevice) throw new ApiError("INVALID_ARGUMENT", "this model runs on the CPU: there is no GPU device to lose");
    gpuDevice.destroy();
    return null;
  },
};

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
onmessage = ({ data: { id, op, args } }) => {
  queue = queue.then(async () => {
    try {
      const operation = operations[op];
      if (!operation) throw new ApiError("INVALID_ARGUMENT", `unknown operation ${op}`);
      const result = await operation(args);
      postMessage({ id, ok: true, result }, transferables(result));
    } catch (error) {
      if (error?.code) {
        postMessage({ id, ok: false, error: { code: error.code, message: error.message } });
      } else {
        // A Rust panic (or the wasm module failing to load) leaves the module unusable: end this worker.
        postMessage({ id, ok: false, error: { code: "WORKER_ERROR", message: `${error?.name ?? "Error"}: ${error?.message ?? error}` } });
        postMessage({ type: "fatal", message: String(error?.message ?? error) });
      }
    }
  });
};
