// The package's worker imports ES modules: bundle workers as ES modules (Vite's default is iife).
// esnext: the app uses top-level await and `await using` as they are (current browsers run both).
export default { worker: { format: "es" }, build: { target: "esnext" } };
