//! Build script of the C library: gives `libporter.so` its SONAME,
//! `libporter.so.ABI`, so a program linked against it records that name and
//! `make install` can put each ABI version beside the others (the Makefile
//! installs the file as `libporter.so.VERSION` with the two links). ABI is
//! the part of the version that changes with an incompatible release: MAJOR,
//! or `0.MINOR` while MAJOR is 0 (semver: every 0.x minor may break; cargo-c
//! names the same `libfoo.so.0.MINOR`). The Makefile's `SOVERSION` computes
//! the same from Cargo.toml; `tests/c-examples.sh` checks that they agree.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let part = |name: &str| std::env::var(name).unwrap_or_else(|_| "0".into());
        let major = part("CARGO_PKG_VERSION_MAJOR");
        let abi = match major.as_str() {
            "0" => format!("0.{}", part("CARGO_PKG_VERSION_MINOR")),
            _ => major,
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libporter.so.{abi}");
    }
}
