// The package's worker imports ES modules: bundle workers as ES modules (Vite's default is iife).
export default { worker: { format: "es" }, build: { target: "es2022" } };
