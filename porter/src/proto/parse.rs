//! PLACEHOLDER (replaced by the real parser).
#[derive(Clone, Copy, Debug)]
pub struct HeadLimits { pub max_request_line: usize, pub max_head: usize, pub max_headers: usize }
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span { pub start: u32, pub end: u32 }
impl Span { pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] { &buf[self.start as usize..self.end as usize] } pub fn is_empty(&self) -> bool { self.start == self.end } pub fn len(&self) -> usize { (self.end - self.start) as usize } }
/// v
#[derive(Clone, Copy, Debug, PartialEq, Eq)] pub enum Version { /** a */ Http10, /** b */ Http11 }
#[derive(Clone, Copy, Debug, PartialEq, Eq)] pub enum TargetForm { Origin, Absolute, Asterisk }
#[derive(Clone, Copy, Debug, PartialEq, Eq)] pub enum BodyKind { None, Length(u64), Chunked }
#[derive(Clone, Debug)]
pub struct ParsedHead { pub len: usize, pub method: Span, pub target: Span, pub version: Version, pub form: TargetForm, pub path: Span, pub query: Option<Span>, pub host: Option<Span>, pub headers: Vec<(Span, Span)>, pub body: BodyKind, pub keep_alive: bool, pub expect_continue: bool }
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError { BadRequestLine }
impl ParseError { pub fn status(self) -> u16 { 400 } }
impl std::fmt::Display for ParseError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "x") } }
pub fn parse_head(_buf: &[u8], _limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> { Err(ParseError::BadRequestLine) }
