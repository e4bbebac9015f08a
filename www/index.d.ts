// Types of isoformer-web's JavaScript API (index.js).

/** Codes of errors raised by the Rust core (src/error.rs). */
export type CoreErrorCode =
  | "INVALID_CHARACTER" | "EMPTY_SEQUENCE" | "SEQUENCE_TOO_LONG" | "WRONG_MODALITY" | "INVALID_FASTA" | "INVALID_CONFIG"
  | "INVALID_MANIFEST" | "WEIGHTS_CORRUPT" | "INVALID_WEIGHT_FILE" | "CHECKPOINT_MISMATCH" | "NO_GPU" | "DEVICE_ERROR"
  | "NETWORK_ERROR" | "IO_ERROR" | "INVALID_ARGUMENT" | "ABORTED" | "INVALID_ANNOTATION" | "INVALID_VARIANT"
  | "REF_MISMATCH";

/** Codes of errors raised by the JavaScript layer. */
export type ApiErrorCode = "DEVICE_LOST" | "DISPOSED" | "WORKER_ERROR" | "DTYPE_UNAVAILABLE" | "NO_WASM_SIMD";

export type ErrorCode = CoreErrorCode | ApiErrorCode;

export declare const CORE_ERROR_CODES: readonly CoreErrorCode[];
export declare const API_ERROR_CODES: readonly ApiErrorCode[];

/** Every error this package throws or rejects with. Branch on `code`, not on the message. */
export declare class IsoFormerError extends Error {
  readonly name: "IsoFormerError";
  readonly code: ErrorCode;
  /** predictMany: the id of the transcript the error is about. */
  readonly transcript?: string;
}

export type Modality = "dna" | "rna" | "protein";
export type Dtype = "f32" | "f16" | "q8" | "q4";
export type DeviceChoice = "auto" | "webgpu" | "cpu";

/** A loading step (not the DOM's ProgressEvent). `total` (bytes of every shard to load) is known from the first event on. */
export interface LoadProgress {
  /** The step, as transformers.js names its field (the same value as `stage`). */
  status: LoadProgress["stage"];
  /** Percent (0–100) of the model's bytes loaded, the shard being downloaded counted as far as it has arrived. */
  progress: number;
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
   * each part's weight directory, or a model id `"org/name"` (two segments, no trailing slash:
   * resolved through `env`). Relative URLs are read against the page.
   */
  weights: string | URL | { dna: string; rna?: string; protein?: string; aggregator: string };
  /** With a model id (`weights: "org/name"`): the revision the remote path names (default "main"). */
  revision?: string;
  /** Which of the RNA and protein encoders to fetch (default: every part the directory has). DNA is always read. Only with a directory URL. */
  modalities?: Array<"rna" | "protein">;
  /** The weights' storage type: the directory itself when it is of that type, else its `<dtype>/` subdirectory. Only with a directory URL. */
  dtype?: Dtype;
  /** `auto` (default): WebGPU when the browser has an adapter, else the CPU (slower: see `parallel`). */
  device?: DeviceChoice;
  /**
   * On the CPU (default true): the RNA and protein encoders of `predict` and `predictMany` also run in
   * helper workers, each its own wasm instance on its own core, alongside Enformer (no
   * SharedArrayBuffer or COOP/COEP headers needed). Each helper holds a second copy of its encoder's
   * weights in memory; `false` keeps one copy and runs the encoders one after another. Off with
   * `lowMemory`, and on a browser reporting one core.
   */
  parallel?: boolean;
  /** Run one part at a time, each fetched (from the cache) per prediction: peak GPU memory is the largest part. */
  lowMemory?: boolean;
  /** Keep shards in the Cache API keyed by SHA-256 (default true). */
  cache?: boolean;
  /** Burn's GPU kernel fusion (default true); `false` runs every operation as its own kernel, for diagnosis. */
  fusion?: boolean;
  onProgress?: (event: LoadProgress) => void;
  /** Cache fallbacks (no Cache API, storage quota reached during the load): the load goes on without the cache. Default: console.warn. */
  onWarning?: (warning: string) => void;
  /** Aborting ends the load (rejects with ABORTED) and its worker. */
  signal?: AbortSignal;
  /** A Worker already running this package's worker.js (e.g. built by your bundler). */
  worker?: Worker;
  /** Where worker.js is (default: next to index.js). On another origin (a CDN) it is started
   * through a same-origin blob module that imports it; the CDN must allow CORS. */
  workerUrl?: string | URL;
}

export interface ModelInfo {
  /** The adapter, or "cpu (…)". */
  device: string;
  backend: "webgpu" | "cpu";
  lowMemory: boolean;
  /** The wasm module was built with SIMD (always true for the published package). */
  wasmSimd: boolean;
  /** The RNA and protein encoders run in helper workers alongside Enformer (the CPU, `parallel`); false from the moment a helper worker died. */
  parallel: boolean;
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

/** How the inputs are read, and how to stop. */
export interface PredictOptions {
  /** Most RNA tokens, <cls> included (default 2048, IsoFormer's RNA length). */
  maxTokens?: number;
  /** RNA over `maxTokens`: an error (default), or its 5' start or 3' end tokens kept. */
  crop?: "none" | "keep-start" | "keep-end";
  /** Most protein residues (default 1,024, ESM-2's trained context; rotary positions extrapolate beyond it, quality unknown). */
  maxResidues?: number;
  /** DNA over 196,608 bp: an error (default), or its central 196,608 bp kept. */
  cropDna?: "none" | "centre";
  /** IUPAC ambiguity codes (R Y S W K M B D H V) in RNA and DNA: an error (default), or read as N. */
  ambiguous?: "reject" | "as-n";
  /** Stops the call at its next stage, Enformer window or layer (rejects with ABORTED; the model stays loaded). */
  signal?: AbortSignal;
}

export interface TranscriptInput {
  id: string;
  rna?: string;
  protein?: string;
}

export interface PredictManyProgress {
  status: "predicted";
  index: number;
  id: string;
  result: Prediction & { id: string };
  done: number;
  total: number;
  progress: number;
}

export interface PredictManyRequest extends PredictOptions {
  /** The gene's DNA window, shared by every transcript (its embedding is computed once). */
  dna?: string;
  transcripts: TranscriptInput[];
  onProgress?: (event: PredictManyProgress) => void;
}

/** A gene's annotation: a GenBank record's text, or GFF3/GTF text with its sequence's FASTA. */
export type Annotation = { genbank: string } | { gff: string; fasta: string };

export interface ScoreVariantsRequest extends PredictOptions {
  annotation: Annotation;
  /** VCF text (the header may be left out). CHROM names the annotated sequence (accession, `chr1`, `1`). */
  variants: string;
  /** Only this gene's transcripts (GenBank /gene, GFF3 Name, GTF gene_name). */
  gene?: string;
  /** The strand the DNA window is read on (default `genome`; `transcript` reverse-complements minus-strand windows). */
  windowStrand?: "genome" | "transcript";
  onProgress?: (event: ScoreVariantsProgress) => void;
}

export interface ScoreVariantsProgress {
  status: "scored";
  index: number;
  variant?: VariantScore;
  error?: VariantError;
  done: number;
  total: number;
  progress: number;
}

/** A prediction's and the scores' shapes, declared once with the wasm surface that produces them (pkg/isoformer.d.ts). */
export type { MemoryUsage, Prediction, TranscriptScore, VariantError, VariantScore, VariantScores } from "./pkg/isoformer.js";
import type { MemoryUsage, Prediction, VariantError, VariantScore, VariantScores } from "./pkg/isoformer.js";

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
  /** RNA: most tokens with <cls> (default 2048). */
  maxTokens?: number;
  /** Protein: most residues (default 1,024). */
  maxResidues?: number;
  /** RNA: "none" | "keep-start" | "keep-end"; DNA: "none" | "centre". */
  crop?: "none" | "keep-start" | "keep-end" | "centre";
  /** RNA, DNA: IUPAC ambiguity codes as an error (default) or as N. */
  ambiguous?: "reject" | "as-n";
  signal?: AbortSignal;
}

export interface LayerEmbeddings {
  tokens: Uint32Array;
  pooling: "cls" | "mean" | "none";
  /** One per layer asked, in order: `index` as transformers' `hidden_states` counts it; `shape`
   * `[width]` pooled, `[tokens, width]` with `pooling: "none"`. */
  layers: { layer: number; index: number; shape: number[]; data: Float32Array }[];
}

/** Where model ids (`"org/name"`) are looked for, as transformers.js's `env`: `localModelPath` + id first (when `allowLocalModels`), then `remoteHost` + `remotePathTemplate` (when `allowRemoteModels`). */
export interface ModelEnv {
  remoteHost: string;
  /** `{model}` and `{revision}` are filled in; default "{model}/resolve/{revision}/" (Hugging Face's layout). */
  remotePathTemplate: string;
  localModelPath: string;
  allowLocalModels: boolean;
  allowRemoteModels: boolean;
}

export declare const env: ModelEnv;

export declare class IsoFormer {
  private constructor();
  static load(options: LoadOptions): Promise<IsoFormer>;
  /** Whether the cache holds every file a load needs (index, manifests, shards of `modalities`, of `dtype`): it then loads offline. */
  static isCached(weights: string | URL, options?: { dtype?: Dtype; modalities?: ("rna" | "protein")[]; revision?: string }): Promise<boolean>;
  /** Where model ids are resolved (the same object as the `env` export). */
  static readonly env: ModelEnv;
  readonly info: ModelInfo;
  /** Sequences plain, or FASTA text with one record. */
  predict(inputs: PredictInputs, options?: PredictOptions): Promise<Prediction>;
  predictMany(request: PredictManyRequest): Promise<(Prediction & { id: string })[]>;
  /** A gene's VCF variants scored on every transcript isoform, in the worker (nothing leaves the page). */
  scoreVariants(request: ScoreVariantsRequest): Promise<VariantScores>;
  embed(modality: Modality, sequence: string, options?: Omit<EmbedOptions, "layer" | "pooling">): Promise<Embedding>;
  embed(modality: "protein" | "rna", sequence: string, options: EmbedOptions & { layer: number | number[] }): Promise<LayerEmbeddings>;
  /** Memory diagnostics, read between calls: the worker's wasm heap and Burn's device memory pool (for watching long use). */
  memoryUsage(): Promise<MemoryUsage>;
  /** Frees the GPU memory and ends the worker; resolves to the memory reading taken once the model was freed (null when the worker ended without one). */
  dispose(): Promise<MemoryUsage | null>;
  [Symbol.asyncDispose](): Promise<void>;
}

export { cachedFetch, listCachedWeights, deleteCachedWeights, CACHE_NAME } from "./weights-cache.js";
