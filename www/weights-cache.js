// Weight shards through the browser's Cache API, keyed by content (the SHA-256 the manifest lists),
// so a second load of the same model makes no shard requests and a re-hosted copy hits the same
// entries. Use as the `fetch` option of EncoderModel.load / IsoformerModel.load:
//
//   import { cachedFetch, listCachedWeights, deleteCachedWeights } from "./weights-cache.js";
//   const model = await EncoderModel.load(url, { fetch: cachedFetch({ onProgress }), onProgress });
//
// A cached entry is checked against its SHA-256 before use; a corrupt or truncated one is deleted
// and fetched again. Without the Cache API (non-secure origins), when the cache cannot be opened
// (some private windows) or an entry cannot be stored, loading goes on without the cache and
// `onWarning` says why; once the storage quota is reached, the hook stores nothing more (one
// warning). Indexes and manifests (`expected` null) are fetched from the network when it answers
// (they say what is current), once per hook (one load), and kept in the cache under their URL:
// offline, the cached copy is used, so a cached model loads without a network.

export const CACHE_NAME = "isoformer-web-weights-v1";
const KEY_PREFIX = "/.isoformer-web-cache/sha256/";

function keyFor(sha256) {
  return new URL(KEY_PREFIX + sha256, globalThis.location.origin).href;
}

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function openCache(cacheName, warn) {
  if (!("caches" in globalThis) || !globalThis.isSecureContext) {
    warn("the Cache API is not available here (a non-secure origin?): weights are loaded without a cache");
    return null;
  }
  try {
    return await caches.open(cacheName);
  } catch (error) {
    warn(`the weight cache cannot be opened (${error.name}: ${error.message}): weights are loaded without a cache`);
    return null;
  }
}

// Reads a response body, reporting bytes as they arrive: { stage: "download", file, fileLoaded, fileBytes }.
async function readBody(response, expected, onProgress) {
  if (!onProgress || !response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    onProgress({ stage: "download", file: expected.name, fileLoaded: received, fileBytes: expected.bytes });
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** An HTTP error answer (`status` set), as opposed to no answer at all. */
function httpError(response, url) {
  const error = new Error(`HTTP ${response.status} for ${url}`);
  error.status = response.status;
  return error;
}

/**
 * A `fetch(url, expected)` hook for the loaders. Options: `{ cacheName?, onWarning?, onProgress?,
 * signal?, store? }`; `cacheName: null` keeps nothing (each index and manifest is still fetched
 * once); `store: false` reads the cache but adds nothing to it (the package's helper workers: the
 * model's own load has decided what is kept, e.g. nothing more once the quota was reached).
 */
export function cachedFetch({ cacheName = CACHE_NAME, onWarning = console.warn, onProgress, signal, store: storing = true } = {}) {
  let cache;
  const warned = new Set();
  const warn = (message) => {
    if (!warned.has(message)) onWarning(message);
    warned.add(message);
  };
  if (cacheName && globalThis.navigator?.storage?.persist) navigator.storage.persist().catch(() => {});
  const openStore = () => (cacheName ? (cache ??= openCache(cacheName, warn)) : null);
  // Once the quota is reached, later entries would fail too: the rest of the load skips storing.
  let full = false;
  const keep = async (store, key, response, what) => {
    if (!store || full || !storing) return;
    try {
      await store.put(key, response);
    } catch (error) {
      if (error?.name === "QuotaExceededError") {
        full = true;
        warn(`the storage quota is reached (${error.name}): the rest of the model is loaded without the cache and will be downloaded again next time`);
      } else {
        warn(`${what} could not be cached (${error?.name}: ${error?.message}); it will be downloaded again next time`);
      }
    }
  };
  const documents = new Map();
  // An index or manifest: the network's copy (then kept), or offline the cached one.
  const fetchDocument = async (url) => {
    const store = await openStore();
    let response;
    try {
      response = await fetch(url, { signal });
    } catch (error) {
      const hit = signal?.aborted ? null : await store?.match(url);
      if (!hit) throw error;
      warn("the network did not answer: the model's index and manifests come from the cache");
      return hit.arrayBuffer();
    }
    if (!response.ok) throw httpError(response, url);
    const bytes = await response.arrayBuffer();
    await keep(store, url, new Response(bytes.slice(0), { headers: { "content-type": "application/json" } }), url);
    return bytes;
  };
  return async function fetchWeights(url, expected) {
    const get = async () => {
      const response = await fetch(url, { signal });
      if (!response.ok) throw httpError(response, url);
      return response;
    };
    if (!expected) {
      if (!documents.has(url)) documents.set(url, fetchDocument(url));
      return (await documents.get(url)).slice(0); // a copy: the caller may detach it
    }
    openStore();
    const store = await cache;
    const key = keyFor(expected.sha256);
    if (store) {
      const hit = await store.match(key);
      if (hit) {
        const bytes = await hit.arrayBuffer();
        if ((await sha256Hex(bytes)) === expected.sha256) return bytes;
        warn(`the cached copy of ${expected.name} is corrupt; fetching it again`);
        await store.delete(key);
      }
    }
    const bytes = await readBody(await get(), expected, onProgress);
    // Only verified bytes are stored; a bad download is left for the loader to reject.
    if (store && !full && bytes.byteLength === expected.bytes && (await sha256Hex(bytes)) === expected.sha256) {
      await keep(store, key, new Response(bytes, { headers: { "content-type": "application/octet-stream" } }), expected.name);
    }
    return bytes;
  };
}

/**
 * Whether the cache holds everything a load of the IsoFormer weight directory at `base` (an
 * absolute URL ending in "/") needs: its index, the manifests of `parts` (all when omitted), and
 * every shard they list. Resolves to the parts' dtypes (`{ part: dtype }`) when it does, else null.
 */
export async function cachedModel(base, { parts, cacheName = CACHE_NAME } = {}) {
  if (!("caches" in globalThis) || !(await caches.has(cacheName))) return null;
  const store = await caches.open(cacheName);
  const json = async (url) => {
    const hit = await store.match(url);
    return hit ? hit.json().catch(() => null) : null;
  };
  const index = await json(new URL("isoformer.json", base).href);
  if (!Array.isArray(index?.parts)) return null;
  const dtypes = {};
  for (const part of index.parts.filter((p) => !parts || parts.includes(p))) {
    const manifest = await json(new URL(`${part}/manifest.json`, base).href);
    if (!Array.isArray(manifest?.files)) return null;
    for (const file of manifest.files) if (!(await store.match(keyFor(file.sha256)))) return null;
    dtypes[part] = manifest.dtype ?? "f32";
  }
  return dtypes;
}

/** The cached shards: `[{ sha256, bytes }]`. */
export async function listCachedWeights({ cacheName = CACHE_NAME } = {}) {
  if (!("caches" in globalThis) || !(await caches.has(cacheName))) return [];
  const store = await caches.open(cacheName);
  const entries = [];
  for (const request of await store.keys()) {
    const path = new URL(request.url).pathname;
    if (!path.startsWith(KEY_PREFIX)) continue;
    const response = await store.match(request);
    entries.push({ sha256: path.slice(KEY_PREFIX.length), bytes: (await response.arrayBuffer()).byteLength });
  }
  return entries;
}

/** Deletes the cached shards with these SHA-256s (a manifest's `files[].sha256`), or all of them. Resolves to the number deleted. */
export async function deleteCachedWeights({ cacheName = CACHE_NAME, sha256 } = {}) {
  if (!("caches" in globalThis) || !(await caches.has(cacheName))) return 0;
  if (!sha256) {
    const count = (await listCachedWeights({ cacheName })).length;
    await caches.delete(cacheName);
    return count;
  }
  const store = await caches.open(cacheName);
  let deleted = 0;
  for (const hash of sha256) if (await store.delete(keyFor(hash))) deleted++;
  return deleted;
}
