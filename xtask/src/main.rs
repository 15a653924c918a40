//! Developer commands for Stratus, run as `cargo xtask <command>`:
//! the local stack (`dev`), the full test run CI uses (`test`), the built-in routing policies
//! (`policies`), dev tokens (`token`), seeding a running stack (`seed`), creating the table
//! (`table`) and benchmarks (`bench`).
//! Tools the commands need are installed on first use where a package registry has them.

mod bench;
mod bridge;
mod dev;
mod paths;
mod policies;
mod process;
mod seed;
mod stack;
mod table;
mod test_suite;
mod token;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

  dev     run the local stack on http://127.0.0.1:9000 (DynamoDB Local, dev issuer,
          cargo lambda watch), seed a demo tenant, print tokens; Ctrl-C stops it
  test    fmt check, cfn-lint, unit tests, black-box tests against a local stack
          (ports 8010/9011/9100, so it runs beside `dev`)
  policies
          build the built-in routing policies (wasm32-wasip2) and print their directory
          (wherever cargo puts them: CARGO_TARGET_DIR and cargo config are honoured)
  token   print a dev token (`cargo xtask token --help`)
  seed    seed the demo tenant into a running dev stack
  table   create the table where AWS_ENDPOINT_URL_DYNAMODB points
  bench   DynamoDB round trips per operation, warm latency through watch, cold start;
          `--sizes` adds the arm64 Lambda build's binary sizes (ports 8030/9030/9300;
          results in target/stratus-bench/results.md)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let no_options = || -> anyhow::Result<()> {
        match rest.first() {
            Some(extra) => anyhow::bail!("`{command}` takes no arguments (got {extra})"),
            None => Ok(()),
        }
    };
    match command.as_str() {
        "dev" => {
            no_options()?;
            process::install_signal_handler()?;
            dev::command().await
        }
        "test" => {
            no_options()?;
            process::install_signal_handler()?;
            test_suite::command().await
        }
        "policies" => {
            no_options()?;
            policies::command()
        }
        "token" => token::command(rest),
        "seed" => {
            no_options()?;
            seed::command().await
        }
        "table" => {
            no_options()?;
            table::command().await
        }
        "bench" => {
            process::install_signal_handler()?;
            bench::command(rest).await
        }
        stack::SERVE_DEV_ISSUER => stack::serve_dev_issuer(rest),
        stack::SERVE_DEV_GRAPH => stack::serve_dev_graph(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}
