use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sigap_server::cli::Cli::parse();
    sigap_server::logging::init();
    match sigap_server::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sigap-server: {e}");
            e.exit_code()
        }
    }
}
