// In-browser benchmark, driven by scripts/bench_browser.mjs (or by hand). A weight directory: the
// protein encoder embeds a `residues`-long protein. An IsoFormer weight directory (isoformer.json):
// whole predictions from 196,608 bp of DNA, a 2,048-token RNA and a `residues`-long protein.
// Load, one warm-up call (shader compilation), then `runs` timed calls.
import init, { EncoderModel, IsoformerModel } from "./pkg/isoformer.js";

const params = new URLSearchParams(location.search);
const weights = new URL(params.get("weights") ?? "weights/isoformer-tiny-random/protein/", document.baseURI).href;
const residues = Number(params.get("residues") ?? 1024);
const runs = Number(params.get("runs") ?? 3);
// loadOnly=1: stop after loading (on WebGPU including the loader's own short warm-up) and report the
// wasm memory it took; wasm memory never shrinks, so its size after loading is the peak.
const loadOnly = params.get("loadOnly") === "1";
// fusion=0: every GPU operation as its own kernel (diagnosis: what Burn's fusion gains on this adapter).
const loadOptions = params.get("fusion") === "0" ? { fusion: false } : {};

// The same fixed pseudo-random sequences as `isoformer bench` (src/synthetic.rs: xorshift64 over an alphabet).
function synthetic(length, alphabet) {
  let state = 0x2545f4914f6cdd1dn;
  const mask = (1n << 64n) - 1n;
  const letters = new Array(length);
  for (let i = 0; i < length; i++) {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    letters[i] = alphabet[Number(state % BigInt(alphabet.length))];
  }
  return letters.join("");
}

async function isIsoformerDirectory(url) {
  const response = await fetch(new URL("isoformer.json", url));
  return response.ok;
}

async function timed(label, call) {
  const start = performance.now();
  await call();
  const ms = performance.now() - start;
  console.log(`${label} in ${ms.toFixed(0)} ms`);
  return ms;
}

async function main() {
  const wasm = await init();
  const memoryBefore = wasm.memory.buffer.byteLength;
  const t0 = performance.now();
  console.log(`loading ${weights}`);
  const isoformer = await isIsoformerDirectory(weights);
  const protein = synthetic(residues, "ACDEFGHIKLMNPQRSTVWY");
  let result;
  if (isoformer) {
    const model = await IsoformerModel.load(weights, loadOptions);
    const loadMs = performance.now() - t0;
    console.log(`loaded IsoFormer (${model.modalities.join(", ")}) in ${loadMs.toFixed(0)} ms`);
    const inputs = { dna: synthetic(196608, "ACGT"), rna: synthetic(6 * 2047, "ACGT"), protein };
    let randomWeights;
    const once = () => model.predict(inputs).then((p) => { randomWeights = p.randomWeights; });
    const warmupMs = await timed("first prediction (with shader compilation)", once);
    const runsMs = [];
    for (let i = 0; i < runs; i++) runsMs.push(await timed("prediction", once));
    runsMs.sort((a, b) => a - b);
    result = { model: "isoformer", device: model.info.device, random_weights: randomWeights, dna_bp: inputs.dna.length, rna_nt: inputs.rna.length, protein_residues: residues,
               load_ms: loadMs, warmup_ms: warmupMs, runs_ms: runsMs, median_ms: runsMs[Math.floor(runsMs.length / 2)] };
  } else {
    const model = await EncoderModel.load(weights, loadOptions);
    const loadMs = performance.now() - t0;
    console.log(`loaded in ${loadMs.toFixed(0)} ms (on WebGPU, includes a warm-up pass)`);
    if (loadOnly) {
      const info = model.info;
      const result = { device: info.device, layers: info.layers, hidden_size: info.hiddenSize, load_ms: loadMs,
                       wasm_memory_before_load: memoryBefore, wasm_memory_after_load: wasm.memory.buffer.byteLength, user_agent: navigator.userAgent };
      document.getElementById("result").textContent = JSON.stringify(result);
      console.log("BENCH_RESULT " + JSON.stringify(result));
      return;
    }
    const once = () => model.embedProtein(protein);
    const warmupMs = await timed(`embedded ${residues} residues`, once);
    const runsMs = [];
    for (let i = 0; i < runs; i++) runsMs.push(await timed(`embedded ${residues} residues`, once));
    runsMs.sort((a, b) => a - b);
    const info = model.info;
    result = { device: info.device, layers: info.layers, hidden_size: info.hiddenSize, random_weights: info.randomWeights,
               fusion: loadOptions.fusion ?? true, residues, load_ms: loadMs, warmup_ms: warmupMs, runs_ms: runsMs, median_ms: runsMs[Math.floor(runsMs.length / 2)] };
  }
  result.user_agent = navigator.userAgent;
  result.wasm_memory_before_load = memoryBefore;
  result.wasm_memory_peak = wasm.memory.buffer.byteLength;
  document.getElementById("result").textContent = JSON.stringify(result);
  console.log("BENCH_RESULT " + JSON.stringify(result));
}

main().catch((error) => {
  document.getElementById("result").textContent = `error: ${error.code ?? ""} ${error.message ?? error}`;
  console.log("BENCH_ERROR " + (error.message ?? error));
});
