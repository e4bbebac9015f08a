// Types of isoformer-web's JavaScript API (index.js).

/** Codes of errors raised by the Rust core (src/error.rs). */
export type CoreErrorCode =
  | "INVALID_CHARACTER" | "EMPTY_SEQUENCE" | "SEQUENCE_TOO_LONG" | "WRONG_MODALITY" | "INVALID_FASTA" | "INVALID_CONFIG"
  | "INVALID_MANIFEST" | "WEIGHTS_CORRUPT" | "INVALID_WEIGHT_FILE" | "CHECKPOINT_MISMATCH" | "NO_GPU" | "DEVICE_ERROR"
  | "NETWORK_ERROR" | "IO_ERROR" | "INVALID_ARGUMENT";

/** Codes of errors raised by the JavaScript layer. */
export type ApiErrorCode = "DEVICE_LOST" | "ABORTED" | "DISPOSED" | "WORKER_ERROR" | "DTYPE_UNAVAILABLE" | "NO_WASM_SIMD";

export type ErrorCode = CoreErrorCode | ApiErrorCode;

export declare const CORE_ERROR_CODES: readonly CoreErrorCode[];
export declare const API_ERROR_CODES: readonly ApiErrorCode[];

/** Every error this package throws or rejects with. Branch on `code`, not on the message. */
export declare class IsoFormerError extends Error {
  readonly name: "IsoFormerError";
  readonly code: ErrorCode;
}

export type Modality = "dna" | "rna" | "protein";
export type Dtype = "f32" | "f16" | "q8" | "q4";
export type DeviceChoice = "auto" | "webgpu" | "cpu";

/** A loading step. `total` (bytes of every shard to load) is known from the first event on. */
export interface ProgressEvent {
  stage: "manifest" | "download" | "verify" | "upload" | "warm-up" | "ready";
  /** Bytes verified and uploaded so far (all parts). */
  loaded: number;
  total: number;
  /** The shard, for download / verify / upload. */
  file?: string;
  fileBytes?: number;
  /** Bytes of `file` received so far (download events sent while the body streams in). */
  fileLoaded?: number;
}

export interface LoadOptions {
  /**
   * An IsoFormer weight directory's URL (`isoformer.json` with `dna/ rna/ protein/ aggregator/`),
   * or each part's weight directory. Relative URLs are read against the page.
   */
  weights: string | URL | { dna: string; rna?: string; protein?: string; aggregator: string };
  /** Which of the RNA and protein encoders to fetch (default: every part the directory has). DNA is always read. Only with a directory URL. */
  modalities?: Array<"rna" | "protein">;
  /** The weights' storage type: the directory itself when it is of that type, else its `<dtype>/` subdirectory. Only with a directory URL. */
  dtype?: Dtype;
  /** `auto` (default): WebGPU when the browser has an adapter, else the CPU (slow, one thread). */
  device?: DeviceChoice;
  /** Run one part at a time, each fetched (from the cache) per prediction: peak GPU memory is the largest part. */
  lowMemory?: boolean;
  /** Keep shards in the Cache API keyed by SHA-256 (default true). */
  cache?: boolean;
  /** Burn's GPU kernel fusion (default true); `false` runs every operation as its own kernel, for diagnosis. */
  fusion?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  /** Cache fallbacks (no Cache API, quota): the load goes on without the cache. Default: console.warn. */
  onWarning?: (warning: string) => void;
  /** Aborting ends the load (rejects with ABORTED) and its worker. */
  signal?: AbortSignal;
}

export interface ModelInfo {
  /** The adapter, or "cpu (…)". */
  device: string;
  backend: "webgpu" | "cpu";
  lowMemory: boolean;
  /** The wasm module was built with SIMD (always true for the published package). */
  wasmSimd: boolean;
  /** True when any part's weights are random (then every number is meaningless biologically); null until known in low-memory mode. */
  randomWeights: boolean | null;
  modalities: Modality[];
  /** The storage type of each part, when `weights` was one directory. */
  dtypes: Record<string, Dtype> | null;
  /** The resolved weight URL(s). */
  weights: string | Record<string, string>;
}

export interface PredictInputs {
  /** The gene's DNA window (up to 196,608 bp; shorter is N-padded around its centre). */
  dna?: string;
  /** The transcript (cDNA or RNA). */
  rna?: string;
  /** The transcript's protein. */
  protein?: string;
}

export interface Prediction {
  /** The 30 tissue names, in the order of `values`. */
  tissues: string[];
  values: Float32Array;
  units: string;
  randomWeights: boolean;
  modalities: Modality[];
  /**
   * Where the time went, in milliseconds, in the order the stages ran: `tokenize`, `upload`, `dna`,
   * `rna`, `protein`, `aggregation`, `readback` (and `load` per part in low-memory mode, where each
   * encoder's stage includes its tokenize and upload). Each device stage ends when the device has
   * finished its work, so the figures add up to about the call's time inside the worker.
   */
  stages: Partial<Record<"load" | "tokenize" | "upload" | "dna" | "rna" | "protein" | "aggregation" | "readback", number>>;
}

export interface Embedding {
  /** Row-major `[rows, width]`: tokens (protein, RNA) or 128-bp bins (DNA). */
  data: Float32Array;
  shape: [number, number];
  meanEmbedding: Float32Array;
  /** Token ids (protein, RNA). */
  tokens?: Uint32Array;
  /** Bases read (DNA). */
  bases?: number;
  /** Enformer track heads, when the weights have them (DNA). */
  tracks?: Record<string, { data: Float32Array; shape: [number, number] }>;
}

export interface EmbedOptions {
  /** Hidden states of this layer or these layers (0 = the embeddings, the last = the last hidden
   * state, negative counts from the end), all from one forward pass. Protein and RNA only. */
  layer?: number | number[];
  /** How each layer's rows become the result: the `<cls>` row, the mean over the sequence's own
   * tokens (default), or every row. */
  pooling?: "cls" | "mean" | "none";
}

export interface LayerEmbeddings {
  tokens: Uint32Array;
  pooling: "cls" | "mean" | "none";
  /** One per layer asked, in order: `index` as transformers' `hidden_states` counts it; `shape`
   * `[width]` pooled, `[tokens, width]` with `pooling: "none"`. */
  layers: { layer: number; index: number; shape: number[]; data: Float32Array }[];
}

export declare class IsoFormer {
  private constructor();
  static load(options: LoadOptions): Promise<IsoFormer>;
  readonly info: ModelInfo;
  predict(inputs: PredictInputs): Promise<Prediction>;
  embed(modality: Modality, sequence: string): Promise<Embedding>;
  embed(modality: "protein" | "rna", sequence: string, options: EmbedOptions & { layer: number | number[] }): Promise<LayerEmbeddings>;
  /** Destroys the GPU device, as a driver reset would (to test an app's recovery). */
  simulateDeviceLoss(): Promise<null>;
  dispose(): void;
}

export { cachedFetch, listCachedWeights, deleteCachedWeights, CACHE_NAME } from "./weights-cache.js";
