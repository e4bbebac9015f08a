// A minimal application using the published package the way an app developer would: imported by
// name, bundled by Vite (worker and wasm included), weights served from the app's public/ folder.
import { IsoFormer, IsoFormerError } from "isoformer-web";

const status = document.getElementById("status");
try {
  const model = await IsoFormer.load({ weights: "weights/isoformer-tiny-random/", modalities: ["protein"] });
  const prediction = await model.predict({ protein: "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSS" });
  document.getElementById("result").textContent = JSON.stringify({ tissues: prediction.tissues, values: Array.from(prediction.values), randomWeights: prediction.randomWeights, backend: model.info.backend });
  model.dispose();
  status.textContent = "done";
} catch (error) {
  status.textContent = `error ${error instanceof IsoFormerError ? error.code : error.name}: ${error.message}`;
}
