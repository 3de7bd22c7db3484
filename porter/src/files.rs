//! PLACEHOLDER: static files (being written).
use crate::{Handler, Reply, Request, Response};
/// Serves files.
pub struct Files;
impl Handler for Files { fn handle(&self, _r: Request) -> Reply { Response::error(404).into() } }
