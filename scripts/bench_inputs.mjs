// What the browser benchmarks share: their `--name value` flags, and the sequence a reference input
// spells (target/bench/<model>-<size>-<length>.reference.json, written by scripts/bench_compare.py).

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
