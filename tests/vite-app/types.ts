// Type-checked, never run (tests/browser/vite_app.mjs runs `tsc --noEmit --strict` on it): the
// package's public types (index.d.ts) and the wasm surface's (pkg/isoformer.d.ts, copied to
// wasm/) as an application sees them. Each `@ts-expect-error` fails the check if the line it
// guards type-checks, so an `any` where a type should be is caught.
import { IsoFormer, type Prediction, type VariantScores } from "isoformer-web";
import { crashHelpers, loseDevice } from "isoformer-web/testing";
import type { IsoformerModel, PredictOptions, VariantsInput, Prediction as WasmPrediction } from "./wasm/isoformer.js";

export async function application(): Promise<number> {
  await using model = await IsoFormer.load({ weights: "org/name", dtype: "q8" });
  const prediction: Prediction = await model.predict({ protein: "MKT" }, { crop: "keep-end", maxTokens: 64 });
  const scores: VariantScores = await model.scoreVariants({
    annotation: { genbank: "LOCUS …" },
    variants: "chr1\t1\t.\tA\tG",
    onProgress: (event) => event.variant?.transcripts[0].delta.length,
  });
  // @ts-expect-error: crop takes the named policies only
  await model.predict({ protein: "MKT" }, { crop: "middle" });
  // @ts-expect-error: an annotation is GenBank text, or GFF text with its FASTA
  await model.scoreVariants({ annotation: { gff: "##gff-version 3" }, variants: "" });
  await loseDevice(model);
  const { helpers }: { helpers: number } = await crashHelpers(model, { after: 1 });
  // @ts-expect-error: after counts embeddings
  await crashHelpers(model, { after: "1" });
  // @ts-expect-error: the test hook is not on the API's class
  IsoFormer.testing;
  return prediction.values.length + scores.variants.length + helpers;
}

export async function wasmSurface(wasm: IsoformerModel): Promise<number> {
  const options: PredictOptions = { crop: "keep-start", ambiguous: "as-n" };
  const prediction: WasmPrediction = await wasm.predict({ rna: "ACGT" }, options);
  const input: VariantsInput = { annotation: { genbank: "" }, vcf: "", windowStrand: "transcript" };
  const scored = await wasm.scoreVariants(input, undefined);
  // @ts-expect-error: predict's inputs are named sequences
  await wasm.predict({ sequence: "ACGT" }, undefined);
  // @ts-expect-error: the info getter is typed (no such field)
  wasm.info.nothing;
  // @ts-expect-error: the window strand is genome or transcript
  await wasm.scoreVariants({ annotation: {}, vcf: "", windowStrand: "minus" }, undefined);
  return prediction.values.length + scored.errors.length + wasm.modalities.length;
}
