#!/usr/bin/env node
// One headless Chromium, one input, three runtimes: an isoformer-web encoder (ESM-2, NT-v2 or the
// Enformer trunk) on WebGPU against ONNX Runtime Web (npm onnxruntime-web) on its WebGPU and WASM
// backends running the torch.onnx export of the same weights (scripts/export_onnx.py). Each: load, one warm-up run (shader compilation, graph
// optimisation) timed apart, then --runs timed runs; each output is compared with PyTorch's.
// Prints one JSON line. Driven by scripts/bench_compare.py; by hand:
//
//   node scripts/bench_ort_browser.mjs [--model esm2|nt|enformer] --weights W --onnx M.onnx --ort DIR/onnxruntime-web/dist [--runs 5] [--backends webgpu,cpu] [--site www/dist]
//
// --backends: webgpu (ours on WebGPU, ORT's webgpu) and cpu (ours on Burn's CPU backend in wasm, ORT's
// wasm); both by default. On a machine without a GPU the WebGPU rows measure SwiftShader.
//
// M.onnx's reference (M.reference.json / .f32) fixes the input: ESM-2 token ids (<cls> … <eos>),
// NT-v2 token ids (<cls> + 6-mers), or the DNA window (one-hot for ORT).
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { blankPage, launchChromium, newPage, staticServer } from "../tests/browser/harness.mjs";
import { flags, referenceSequence } from "./bench_inputs.mjs";

const args = flags();
const site = resolve(args.site ?? "www/dist");
const weights = resolve(args.weights);
const onnx = resolve(args.onnx);
const ort = resolve(args.ort);
const runs = Number(args.runs ?? 5);
const model = args.model ?? "esm2";
const backends = (args.backends ?? "webgpu,cpu").split(",");
const stem = onnx.replace(/\.onnx$/, "");
const reference = JSON.parse(await readFile(`${stem}.reference.json`, "utf8"));

// /site/… the built package, /weights/… our weight directory, /ort/… ONNX Runtime Web, /model/… the export.
const mounts = { "/weights/": weights, "/ort/": ort, "/model/": dirname(onnx) };
const server = await staticServer("/", {
  routes: { "/bench.html": blankPage("runtime comparison") },
  rewrite: (pathname) => {
    for (const [prefix, dir] of Object.entries(mounts)) if (pathname.startsWith(prefix)) return resolve(dir, pathname.slice(prefix.length));
    return resolve(site, pathname.slice(1));
  },
});

const browser = await launchChromium();
try {
  const page = await newPage(browser, "bench");
  await page.goto(`${server.origin}/bench.html`);
  const result = await page.evaluate(async ({ reference, sequence, runs, backends, stem, model }) => {
    const expected = new Float32Array(await (await fetch(`/model/${stem}.reference.f32`)).arrayBuffer());
    const maxAbsDiff = (values) => values.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    async function measure(label, load, run) {
      const t0 = performance.now();
      const handle = await load();
      const loadMs = performance.now() - t0;
      const t1 = performance.now();
      let output = await run(handle);
      const warmUpMs = performance.now() - t1;
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        output = await run(handle);
        times.push(performance.now() - t);
      }
      console.log(`${label}: median ${median(times).toFixed(1)} ms`);
      return { loadMs, warmUpMs, times, medianMs: median(times), maxAbsDiff: maxAbsDiff(output) };
    }
    // What ours reads (the sequence the reference input spells) and what ORT reads (its tensor).
    let feed, embed;
    if (model === "enformer") {
      const oneHot = new Float32Array(sequence.length * 4);
      for (let i = 0; i < sequence.length; i++) oneHot[4 * i + "ACGT".indexOf(sequence[i])] = 1;
      feed = (ort) => new ort.Tensor("float32", oneHot, [1, sequence.length, 4]);
      embed = (m) => m.embedDna(sequence);
    } else {
      const ids = BigInt64Array.from(reference.input_ids.map(BigInt));
      feed = (ort) => new ort.Tensor("int64", ids, [1, ids.length]);
      embed = model === "nt" ? (m) => m.embedRna(sequence) : (m) => m.embedProtein(sequence);
    }
    const results = {};

    const ortModule = await import("/ort/ort.all.min.mjs");
    ortModule.env.wasm.wasmPaths = "/ort/";
    ortModule.env.wasm.numThreads = 1; // no COOP/COEP on a static host: one thread, as ours on the CPU
    const ortRun = async (session) => {
      const out = (await session.run({ [reference.input]: feed(ortModule) }))[reference.output];
      return out.getData ? await out.getData() : out.data;
    };
    const { default: init, EncoderModel } = await import("/pkg/isoformer.js");
    await init();
    const ours = (device) => measure(`isoformer-web ${device}`, () => EncoderModel.load("/weights/", { device }), async (m) => (await embed(m)).data);
    for (const backend of backends) {
      const provider = backend === "cpu" ? "wasm" : "webgpu";
      try {
        results[`onnxruntime-web ${provider}`] = await measure(`ort ${provider}`, () => ortModule.InferenceSession.create(`/model/${stem}.onnx`, { executionProviders: [provider] }), ortRun);
      } catch (error) {
        results[`onnxruntime-web ${provider}`] = { error: String(error?.message ?? error) };
      }
      const label = `isoformer-web ${backend === "cpu" ? "cpu (browser wasm)" : "webgpu"}`;
      try {
        results[label] = await ours(backend);
      } catch (error) {
        results[label] = { error: String(error?.message ?? error) };
      }
    }
    const info = navigator.gpu ? (await navigator.gpu.requestAdapter())?.info : null;
    const adapter = info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : null;
    return { tokens: reference.input_ids?.length ?? sequence.length, adapter, userAgent: navigator.userAgent, ortVersion: ortModule.env.versions?.web ?? null, results };
  }, { reference, sequence: referenceSequence(model, reference), runs, backends, stem: stem.split("/").at(-1), model });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
