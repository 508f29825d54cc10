//! The `linli` binary: parses the command line and hands over to [`linli_server::cli`].

/// mimalloc gives freed memory back to the system. glibc's allocator kept it: after
/// the demo district is generated or a burst of ingest, hundreds of MB stayed mapped
/// (measured: 175 MB resident right after `serve --demo`, 16 MB once trimmed).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    linli_server::cli::main()
}
