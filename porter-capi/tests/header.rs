//! The committed `include/porter.h` must equal what cbindgen generates from
//! the crate now. `PORTER_BLESS=1` rewrites it instead (then commit it).

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings =
        cbindgen::Builder::new().with_crate(dir).with_config(config).generate().expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/porter.h");
    let fresh = generate();
    if std::env::var_os("PORTER_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/porter.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "porter-capi/include/porter.h is stale: run `PORTER_BLESS=1 cargo test -p porter-capi --test header` and commit it"
    );
}
