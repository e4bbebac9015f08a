#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| isoformer::fuzzing::manifest(data));
