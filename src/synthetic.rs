//! The fixed pseudo-random input that benchmarks and tests share, so runs are comparable across
//! machines and languages: xorshift64 over an alphabet, the same generator as
//! tests/fixtures/make_fixtures.py, scripts/bench_torch.py and www/bench.js.

/// `length` letters of `alphabet` (ASCII), always the same for the same arguments.
pub fn synthetic_sequence(length: usize, alphabet: &[u8]) -> String {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}
