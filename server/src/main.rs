//! The `linli` binary: parses the command line and hands over to [`linli_server::cli`].

fn main() -> std::process::ExitCode {
    linli_server::cli::main()
}
