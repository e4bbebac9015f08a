// In-browser benchmark of the protein encoder, driven by scripts/bench_browser.mjs (or by hand):
// load the weights, one warm-up embedding (shader compilation), then `runs` timed embeddings.
import init, { EncoderModel } from "./pkg/isoformer.js";

const params = new URLSearchParams(location.search);
const weights = new URL(params.get("weights") ?? "weights/esm2-tiny-random/", document.baseURI).href;
const residues = Number(params.get("residues") ?? 1024);
const runs = Number(params.get("runs") ?? 3);

// The same fixed pseudo-random protein as `isoformer bench` (xorshift64 over the 20 amino acids).
function syntheticProtein(length) {
  const aminoAcids = "ACDEFGHIKLMNPQRSTVWY";
  let state = 0x2545f4914f6cdd1dn;
  const mask = (1n << 64n) - 1n;
  let out = "";
  for (let i = 0; i < length; i++) {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    out += aminoAcids[Number(state % 20n)];
  }
  return out;
}

async function main() {
  await init();
  const t0 = performance.now();
  console.log(`loading ${weights}`);
  const model = await EncoderModel.load(weights);
  const loadMs = performance.now() - t0;
  console.log(`loaded in ${loadMs.toFixed(0)} ms (includes a warm-up pass)`);
  const protein = syntheticProtein(residues);
  const time = async () => {
    const start = performance.now();
    await model.embedProtein(protein);
    const ms = performance.now() - start;
    console.log(`embedded ${residues} residues in ${ms.toFixed(0)} ms`);
    return ms;
  };
  const warmupMs = await time();
  const runsMs = [];
  for (let i = 0; i < runs; i++) runsMs.push(await time());
  runsMs.sort((a, b) => a - b);
  const info = model.info;
  const result = {
    device: info.device, layers: info.layers, hidden_size: info.hiddenSize, random_weights: info.randomWeights,
    residues, load_ms: loadMs, warmup_ms: warmupMs, runs_ms: runsMs, median_ms: runsMs[Math.floor(runsMs.length / 2)],
    user_agent: navigator.userAgent,
  };
  document.getElementById("result").textContent = JSON.stringify(result);
  console.log("BENCH_RESULT " + JSON.stringify(result));
}

main().catch((error) => {
  document.getElementById("result").textContent = `error: ${error.code ?? ""} ${error.message ?? error}`;
  console.log("BENCH_ERROR " + (error.message ?? error));
});
