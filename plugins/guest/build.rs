//! Build script shared by the built-in policies: link them with a 64 KiB shadow stack instead
//! of the default 1 MiB. A policy runs one short call in a fresh instance, and every page it
//! touches is a page the host must fault in and reset for the next decision; a stack near the
//! bottom of memory keeps that set small. (A linker argument here rather than rustflags in a
//! .cargo/config: those are found from the working directory, not from --manifest-path.)
fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("wasm") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
