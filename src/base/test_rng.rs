//! A deterministic random source for the tests that compare a quick routine with its reference on
//! many random inputs: the same sequence on every run, so a failure reproduces.

/// Xorshift64 (Marsaglia). The seed must not be zero.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
