// What the browser benchmarks share: their `--name value` flags, the sequence a reference input
// spells (target/bench/<model>-<size>-<length>.reference.json, written by scripts/bench_compare.py),
// and the CPU-fallback benchmarks' page.
import { resolve } from "node:path";
import { blankPage, launchChromium, newPage, staticServer } from "../tests/browser/harness.mjs";

/** `--name value` pairs from the command line → `{ name: value }`. */
export function flags(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((pairs, value, i, all) => (i % 2 === 0 ? [...pairs, [value.replace(/^--/, ""), all[i + 1]]] : pairs), []));
}

// ESM-2: ids 4…23 are the amino acids; NT-v2: ids 6… are the 6-mers over ATCG in itertools.product
// order (tests/fixtures/nt_reference.py).
const ESM = ["<cls>", "<pad>", "<eos>", "<unk>", ..."LAGVSERTIDPKQNFYMHWCXBUZO.-"];
const kmer = (id) => Array.from({ length: 6 }, (_, i) => "ATCG"[((id - 6) >> (2 * (5 - i))) & 3]).join("");

/** The sequence isoformer-web reads for a reference: the DNA window, the RNA (<cls> + 6-mers) or the protein (<cls> … <eos>). */
export function referenceSequence(model, reference) {
  if (model === "enformer") return reference.dna;
  if (model === "nt") return reference.input_ids.slice(1).map(kmer).join("");
  return reference.input_ids.slice(1, -1).map((id) => ESM[id]).join("");
}

/**
 * A blank page of the built site (`args.site`, default www/dist) in a headless Chromium without
 * WebGPU (the package's CPU fallback), with the weight directory `args.weights` served under
 * /bench-weights/: `{ page, close }`. `name` labels the page's console lines.
 */
export async function cpuFallbackPage(args, name) {
  if (!args.weights) throw new Error(`--weights is required (see the header of ${process.argv[1]})`);
  const site = resolve(args.site ?? "www/dist");
  const weights = resolve(args.weights);
  const server = await staticServer("/", {
    routes: { "/bench.html": blankPage(name) },
    rewrite: (pathname) => (pathname.startsWith("/bench-weights/") ? resolve(weights, pathname.slice("/bench-weights/".length)) : resolve(site, pathname.slice(1))),
  });
  const browser = await launchChromium({ webgpu: false });
  const close = async () => {
    await browser.close();
    server.close();
  };
  try {
    const page = await newPage(browser, name);
    await page.goto(`${server.origin}/bench.html`);
    return { page, close };
  } catch (error) {
    await close();
    throw error;
  }
}
