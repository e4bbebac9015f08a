// Types of weights-cache.js: weight shards in the Cache API, keyed by SHA-256.

export declare const CACHE_NAME: string;

export interface ExpectedShard {
  name: string;
  bytes: number;
  sha256: string;
}

export interface CachedFetchOptions {
  /** `null`: nothing kept (each index and manifest is still fetched once per hook). */
  cacheName?: string | null;
  onWarning?: (warning: string) => void;
  onProgress?: (event: { stage: "download"; file: string; fileLoaded: number; fileBytes: number }) => void;
  signal?: AbortSignal;
  /** `false`: read the cache, add nothing to it (default true). */
  store?: boolean;
}

/** A `fetch(url, expected)` hook: indexes and manifests (`expected` null) from the network once per hook, kept, and read from the cache offline; cached shards are checked by SHA-256 before use; only verified bytes are stored. */
export declare function cachedFetch(options?: CachedFetchOptions): (url: string, expected: ExpectedShard | null) => Promise<ArrayBuffer | Uint8Array>;

/** The cached shards. */
export declare function listCachedWeights(options?: { cacheName?: string }): Promise<Array<{ sha256: string; bytes: number }>>;

/** Deletes the cached shards with these SHA-256s, or all of them; resolves to the number deleted. */
export declare function deleteCachedWeights(options?: { cacheName?: string; sha256?: string[] }): Promise<number>;

/** The dtype of each of `parts` (default: all) of the IsoFormer directory at `base` when the cache holds its index, their manifests and every shard; else null. */
export declare function cachedModel(base: string, options?: { parts?: string[]; cacheName?: string }): Promise<Record<string, string> | null>;
