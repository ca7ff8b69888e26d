//! `argocd-cnpg-guard` binary: see the library docs and `--help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Only valid-UTF-8 variables can be settings; others are ignored.
    let env = cnpg_guard_host::check::cli::process_env();
    // Unlocked handles: each write takes the lock briefly, so another thread
    // that prints (e.g. a panic message) can never deadlock against us.
    let code = argocd_cnpg_guard::cli::run(
        &args,
        &env,
        &mut std::io::stdin(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}
