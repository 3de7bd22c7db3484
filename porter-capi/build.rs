//! Build script of the C library: gives `libporter.so` its SONAME,
//! `libporter.so.MAJOR`, so a program linked against it records that name and
//! `make install` can put each major version beside the others (the Makefile
//! installs the file as `libporter.so.VERSION` with the two links).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libporter.so.{major}");
    }
}
