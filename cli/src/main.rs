//! The `bia` binary; everything is in the `bia_cli` library.

fn main() -> std::process::ExitCode {
    bia_cli::main()
}
