// Types of weights-cache.js: weight shards in the Cache API, keyed by SHA-256.

export declare const CACHE_NAME: string;

export interface ExpectedShard {
  name: string;
  bytes: number;
  sha256: string;
}

export interface CachedFetchOptions {
  cacheName?: string;
  onWarning?: (warning: string) => void;
  onProgress?: (event: { stage: "download"; file: string; fileLoaded: number; fileBytes: number }) => void;
  signal?: AbortSignal;
}

/** A `fetch(url, expected)` hook: cached shards are checked by SHA-256 before use; only verified bytes are stored. */
export declare function cachedFetch(options?: CachedFetchOptions): (url: string, expected: ExpectedShard | null) => Promise<ArrayBuffer | Uint8Array>;

/** The cached shards. */
export declare function listCachedWeights(options?: { cacheName?: string }): Promise<Array<{ sha256: string; bytes: number }>>;

/** Deletes the cached shards with these SHA-256s, or all of them; resolves to the number deleted. */
export declare function deleteCachedWeights(options?: { cacheName?: string; sha256?: string[] }): Promise<number>;
