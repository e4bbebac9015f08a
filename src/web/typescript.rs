//! TypeScript declarations for what the wasm surface hands back (built by hand as JS objects in
//! src/web/mod.rs and src/web/variants.rs) and for the option shapes that are not data: the option
//! and input structs declare themselves (tsify), and each exported method names its types
//! (`unchecked_param_type` / `unchecked_return_type`), so pkg/isoformer.d.ts has no `any`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const DECLARATIONS: &str = r#"
export type Modality = "dna" | "rna" | "protein";
export type RnaCrop = "none" | "keep-start" | "keep-end";
export type DnaCrop = "none" | "centre" | "center";
export type Ambiguity = "reject" | "as-n";
export type Pooling = "cls" | "mean" | "none";

/** Every call's cancellation. */
export interface CallOptions { signal?: AbortSignal }

/** The loaders' hooks (src/web/loader.rs). */
export interface LoaderHooks {
  fetch?: (url: string, expected?: { name: string; bytes: number; sha256: string }) => Promise<ArrayBuffer | Uint8Array>;
  onProgress?: (event: LoaderEvent) => void;
}
export interface LoaderEvent {
  stage: "manifest" | "download" | "verify" | "upload" | "warm-up" | "ready";
  loaded: number;
  total: number;
  file?: string;
  fileBytes?: number;
}

export interface Embedding { data: Float32Array; shape: [number, number]; tokens: Uint32Array; meanEmbedding: Float32Array }
export interface DnaEmbedding {
  data: Float32Array;
  shape: [number, number];
  meanEmbedding: Float32Array;
  bases: number;
  tracks: { [head: string]: { data: Float32Array; shape: [number, number] } };
}
export interface LayerEmbeddings {
  tokens: Uint32Array;
  pooling: Pooling;
  layers: { layer: number; index: number; shape: number[]; data: Float32Array }[];
}
export interface EncoderInfo { modality: Modality; device: string; randomWeights: boolean; hiddenSize: number; layers: number; maxLength: number }
export interface IsoformerInfo { device: string; lowMemory: boolean; randomWeights: boolean | null }
/** Memory diagnostics (bytes): the wasm heap, and Burn's pool on the device (`null` on the CPU backend). */
export interface MemoryUsage {
  /** The module's WebAssembly.Memory (it grows, never shrinks). */
  wasmBytes: number;
  /** Live allocations in Burn's device pool. */
  deviceAllocations: number | null;
  /** Bytes those allocations use. */
  deviceBytesInUse: number | null;
  /** Bytes the pool holds from the device (in use, padding and pages kept for reuse). */
  deviceBytesReserved: number | null;
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
  /** predictMany: the transcript's id. */
  id?: string;
}
export interface PredictManyOptions extends PredictOptions, CallOptions {
  onResult?: (index: number, result: Prediction) => void;
  /** Transcript `index`'s RNA and protein encoded elsewhere (see `PredictCallOptions.encoded`). */
  encoded?: (index: number) => Promise<EncodedElsewhere>;
}
/**
 * The parallel CPU fallback: `tokenIds` gives the RNA's and protein's token ids, helper workers
 * embed them (`EncoderModel.embedTokenIds`, each its own wasm instance) while this model runs the
 * DNA trunk, and `encoded` hands their hidden states to the aggregator.
 */
export interface PredictCallOptions extends PredictOptions, CallOptions {
  encoded?: Promise<EncodedElsewhere>;
}
/** One encoder's last hidden state, `[tokens, width]` row-major; `ms`: how long it took there. */
export interface HiddenStates { data: Float32Array; shape: [number, number]; ms?: number }
export interface EncodedElsewhere { rna?: HiddenStates; protein?: HiddenStates }
export interface TokenIds { rna?: Uint32Array; protein?: Uint32Array }

export interface ScoreVariantsOptions extends PredictOptions, CallOptions {
  onResult?: (index: number, entry: VariantScore | { error: VariantError }, total: number) => void;
}
/** A VCF record refused (the others are still scored). */
export interface VariantError {
  /** The record's place among the VCF's alleles. */
  index: number;
  code: "INVALID_VARIANT" | "REF_MISMATCH";
  message: string;
}
/** Enformer's track Δ around the variant's 128-bp bin (±1 bin), per head. */
export interface TrackDelta { bin: number; heads: { [head: string]: number[] } }
/** One variant on one transcript isoform. */
export interface TranscriptScore {
  transcript: string;
  gene: string;
  /** Sequence Ontology terms, as VEP names them (missense_variant, splice_donor_variant, …). */
  consequences: string[];
  /** `R248W`, `R248*`, `R248fs`, `=` …, for coding changes. */
  proteinChange: string | null;
  /** Whether the variant lies in this transcript's 196,608-bp DNA window. */
  inWindow: boolean;
  /** IsoFormer alt − ref per tissue (the order of `tissues`). */
  delta: number[];
  /** The change of this isoform's share of the gene's predicted expression per tissue. */
  shareDelta: (number | null)[];
  /** ESM-2's masked marginal, log p(alt) − log p(ref), summed over substituted residues (missense only). */
  esmLlr: number | null;
  /** NT-v2: cosine similarity and L2 distance of the transcript's mean embeddings, masked marginal of the changed 6-mers. */
  ntCosine: number | null;
  ntL2: number | null;
  ntLlr: number | null;
  /** When the weights carry heads and the variant lies in the bins they predict. */
  enformer: TrackDelta | null;
}
/** One VCF allele scored on every transcript. */
export interface VariantScore {
  /** The VCF data line (1-based). */
  record: number;
  id: string;
  chrom: string;
  position: number;
  reference: string;
  alternate: string;
  transcripts: TranscriptScore[];
}
export interface VariantScores {
  tissues: string[];
  randomWeights: boolean;
  /** The gene's transcripts, each with its reference prediction. */
  transcripts: { id: string; gene: string; kind: string; strand: "+" | "-"; proteinId: string | null; reference: number[] }[];
  variants: VariantScore[];
  errors: VariantError[];
}
"#;
