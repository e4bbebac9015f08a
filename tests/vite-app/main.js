// A minimal application using the published package the way an app developer would: imported by
// name, bundled by Vite (worker and wasm included), weights served from the app's public/ folder;
// `await using` disposes the model, a signal guards each call, and a gene's transcripts go through
// predictMany.
import { IsoFormer, IsoFormerError } from "isoformer-web";

const PROTEIN = "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSS";
const status = document.getElementById("status");
try {
  const progress = [];
  const warnings = [];
  await using model = await IsoFormer.load({
    weights: "weights/isoformer-tiny-random/",
    modalities: ["protein"],
    onProgress: (e) => progress.push(e.progress),
    onWarning: (w) => warnings.push(w),
  });
  const signal = AbortSignal.timeout(600_000);
  const prediction = await model.predict({ protein: `>NP_005418.1 (a FASTA record)\n${PROTEIN}\n` }, { signal });
  const many = await model.predictMany({ transcripts: [{ id: "a", protein: PROTEIN }, { id: "b", protein: PROTEIN.slice(0, 20) }], signal });
  document.getElementById("result").textContent = JSON.stringify({
    tissues: prediction.tissues,
    values: Array.from(prediction.values),
    many: many.map((r) => ({ id: r.id, values: Array.from(r.values) })),
    finalProgress: progress.at(-1),
    randomWeights: prediction.randomWeights,
    backend: model.info.backend,
    // The CPU fallback's helper worker (encoder-worker.js) started from the bundle.
    parallel: model.info.parallel,
    cores: navigator.hardwareConcurrency,
    warnings,
  });
  status.textContent = "done";
} catch (error) {
  status.textContent = `error ${error instanceof IsoFormerError ? error.code : error.name}: ${error.message}`;
}
