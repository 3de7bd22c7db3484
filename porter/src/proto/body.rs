//! PLACEHOLDER (replaced by the real decoders).
#[derive(Clone, Copy, Debug)]
pub struct ChunkedLimits { pub max_chunk_line: usize, pub max_trailers: usize }
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError { BadChunkSize }
impl BodyError { pub fn status(self) -> u16 { 400 } }
impl std::fmt::Display for BodyError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "x") } }
pub struct Step { pub consumed: usize, pub data: std::ops::Range<usize> }
pub enum Decoder { A }
impl Decoder { pub fn length(_n: u64) -> Self { Decoder::A } pub fn chunked(_l: ChunkedLimits) -> Self { Decoder::A }
 pub fn decode(&mut self, _i: &[u8]) -> Result<Step, BodyError> { Err(BodyError::BadChunkSize) } pub fn is_done(&self) -> bool { true } pub fn remaining_hint(&self) -> Option<u64> { None } }
