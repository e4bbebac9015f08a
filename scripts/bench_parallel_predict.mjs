#!/usr/bin/env node
// Does the npm package's parallel CPU fallback (`parallel`: the RNA and protein encoders in helper
// workers, each its own wasm instance, beside Enformer in the model's worker) shorten a full
// prediction? In one headless Chromium without WebGPU: the same IsoFormer weights loaded twice on
// the CPU, `parallel: true` and `parallel: false`; one warm-up call each, then --runs rounds of
// `predict({ dna, rna, protein })` on a real TP73 isoform (the demo's examples: its gene window, the
// Ensembl cDNA, its protein), the two models taking turns. Prints one JSON line: the medians, the
// speed-up, the stages of the last call of each, whether the two gave the same values, and the
// time each load took from the weight cache.
//
//   node scripts/bench_parallel_predict.mjs --weights DIR [--runs 3] [--isoform 0] [--site www/dist]
//
// DIR: an IsoFormer weight directory (`isoformer init --like … --random`; BENCHMARKS.md gives the
// one measured there).
import { inPage } from "../tests/browser/harness.mjs";
import { cpuFallbackPage, flags } from "./bench_inputs.mjs";

const args = flags();
const { page, close } = await cpuFallbackPage(args, "parallel");
try {
  page.on("crash", () => console.error("[parallel] the page crashed"));
  const result = await inPage(page, async (IsoFormer, { runs, isoform }) => {
    const examples = await (await fetch("/examples/examples.json")).json();
    const { rna, protein, id } = examples.isoforms[isoform];
    const inputs = { dna: examples.dna, rna, protein };
    const warnings = [];
    const loadMs = {};
    const load = async (parallel) => {
      const started = performance.now();
      const model = await IsoFormer.load({ weights: "/bench-weights/", device: "cpu", parallel, onWarning: (w) => warnings.push(w) });
      loadMs[parallel ? "parallel" : "alone"] = performance.now() - started;
      return model;
    };
    // One worker first: its load fills the weight cache, so both loads below the first read it.
    const first = await load(false);
    await first.dispose();
    const models = { parallel: await load(true), alone: await load(false) };
    const time = async (model) => {
      const started = performance.now();
      const prediction = await model.predict(inputs);
      return { ms: performance.now() - started, prediction };
    };
    const warmUp = {};
    for (const [name, model] of Object.entries(models)) warmUp[name] = (await time(model)).ms;
    const ms = { parallel: [], alone: [] };
    const last = {};
    for (let i = 0; i < runs; i++) {
      for (const [name, model] of Object.entries(models)) {
        const { ms: taken, prediction } = await time(model);
        ms[name].push(taken);
        last[name] = prediction;
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const same = last.parallel.values.every((v, i) => Object.is(v, last.alone.values[i]));
    const out = {
      cores: navigator.hardwareConcurrency,
      isoform: id,
      lengths: { dna: inputs.dna.length, rna: rna.length, protein: protein.length },
      parallelOn: models.parallel.info.parallel,
      loadMs, // from the cache; with parallel, the helper workers' loads are part of it
      warmUp,
      ms,
      parallelMs: median(ms.parallel),
      aloneMs: median(ms.alone),
      speedup: median(ms.alone) / median(ms.parallel),
      stages: { parallel: last.parallel.stages, alone: last.alone.stages },
      sameValues: same,
      warnings,
    };
    await Promise.all(Object.values(models).map((model) => model.dispose()));
    return out;
  }, { runs: Number(args.runs ?? 3), isoform: Number(args.isoform ?? 0) });
  console.log(JSON.stringify(result));
} finally {
  await close();
}
