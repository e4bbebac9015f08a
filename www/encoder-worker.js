// A helper of worker.js on the CPU backend: its own wasm instance holding one encoder (NT-v2 for
// RNA or ESM-2 for protein), so that encoder runs on another core while worker.js runs Enformer
// (a static host sends no COOP/COEP headers, so the wasm has no threads of its own). It embeds the
// token ids worker.js's model made (`IsoformerModel.tokenIds`), one request at a time:
//   { id, op: "load", args: { url, cache, documents } } → { id, ok, result: EncoderInfo }
//   { id, op: "embed", args: { ids: Uint32Array } } → { id, ok, result: { data, shape, ms } }
// `{ type: "cancel", id }` drops a request still waiting in the queue (one that has started runs
// to its end: a wasm call cannot be interrupted). `{ type: "crash", after }` (a test hook) makes
// this worker die at its `after + 1`-th request from then on, as a worker whose script failed.
import init, { EncoderModel } from "./pkg/isoformer.js";
import { CACHE_NAME, cachedFetch } from "./weights-cache.js";

let encoder = null;
const cancelled = new Set();
let requestsBeforeCrash = Infinity; // crashHelpers, a test hook

const operations = {
  async load({ url, cache, documents }) {
    await init();
    // worker.js's load read the manifest (`documents`, by URL) and fetched the shards into the
    // cache moments ago: nothing is fetched twice (its warnings were the main load's already).
    // It adds nothing to the cache: the main load decided what is kept (e.g. nothing more once the
    // storage quota was reached).
    const cached = cachedFetch({ cacheName: cache ? CACHE_NAME : null, store: false, onWarning: () => {}, onProgress: () => {} });
    const fetch = async (address, expected) => (!expected && documents[address] ? documents[address].slice(0) : cached(address, expected));
    encoder = await EncoderModel.load(url, { device: "cpu", fetch });
    return encoder.info;
  },
  async embed({ ids }) {
    if (requestsBeforeCrash-- === 0) return crash();
    if (!encoder) throw Object.assign(new Error("no encoder is loaded"), { code: "DISPOSED" });
    return encoder.embedTokenIds(ids);
  },
};

// The test hook's crash: an error thrown outside any request (the parent's `error` event, as when
// a worker's script fails), and no answer to the request that met it.
function crash() {
  setTimeout(() => {
    throw new Error("crashed by crashHelpers, a test hook");
  });
  return new Promise(() => {});
}

let queue = Promise.resolve();
onmessage = ({ data }) => {
  if (data.type === "cancel") return void cancelled.add(data.id);
  if (data.type === "crash") return void (requestsBeforeCrash = data.after);
  const { id, op, args } = data;
  queue = queue.then(async () => {
    if (cancelled.delete(id)) return postMessage({ id, ok: false, error: { code: "ABORTED", message: "the request was cancelled" } });
    try {
      const result = await operations[op](args);
      postMessage({ id, ok: true, result }, result?.data ? [result.data.buffer] : []);
    } catch (error) {
      postMessage({ id, ok: false, error: { code: error?.code ?? "WORKER_ERROR", message: String(error?.message ?? error) } });
    }
  });
};
