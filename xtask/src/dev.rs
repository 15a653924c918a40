//! `cargo xtask dev`: the whole stack on this machine, seeded, until Ctrl-C.

use std::time::Duration;

use stratus_dev_graph::DEV_GRAPH_PORT;
use stratus_dev_issuer::DEV_ISSUER_PORT;

use crate::process::ensure_port_free;
use crate::stack::{self, Auth, DEV_API_PORT, DEV_DYNAMODB_PORT};
use crate::{bridge, paths, policies, seed, table, tools};

pub async fn command() -> anyhow::Result<()> {
    let auth = Auth::from_env_or_dev(DEV_ISSUER_PORT)?;
    let dynamodb = tools::ensure_stack_tools()?;
    ensure_port_free(DEV_DYNAMODB_PORT, "DynamoDB Local")?;
    ensure_port_free(DEV_API_PORT, "the API")?;
    ensure_port_free(DEV_GRAPH_PORT, "the Graph stand-in")?;
    if let Some(port) = auth.dev_issuer_port {
        ensure_port_free(port, "the dev issuer")?;
    }

    stack::build_bins()?;
    // Built for the upload example printed below; a failure costs only that example.
    let policy_dir = policies::build(None)
        .map_err(|err| eprintln!("WARNING: the built-in routing policies were not built: {err:#}"))
        .ok();

    let table = table::table_name();
    let operator_tenant = stack::operator_tenant_id();
    let mut database =
        stack::start_dynamodb(&dynamodb, DEV_DYNAMODB_PORT, &table, "dev-dynamodb").await?;
    let (issuer, mut issuer_process) = match auth.dev_issuer_port {
        Some(port) => {
            let (issuer, process) = stack::start_dev_issuer(port, "dev-issuer").await?;
            (Some(issuer), Some(process))
        }
        None => {
            println!("==> trusting the issuer {} (STRATUS_AUTH_*)", auth.issuer);
            (None, None)
        }
    };
    let mut graph_process = stack::start_dev_graph(DEV_GRAPH_PORT, "dev-graph").await?;
    // The rate-limit delay and RUST_LOG, when set, reach the functions through the environment.
    let mut env = stack::function_env(DEV_DYNAMODB_PORT, &table, &auth, &operator_tenant, None)?;
    env.extend(stack::graph_env(DEV_GRAPH_PORT, DEV_API_PORT));
    let mut watch = stack::start_watch(DEV_API_PORT, &[], &env, "dev-watch")?;
    let api = stack::api_url(DEV_API_PORT);
    stack::wait_for_api(&mut watch, &api, Duration::from_secs(15 * 60)).await?;
    // What triggers route-tasks in AWS (the table's stream, the schedule), through watch.
    let bridge = bridge::start_local(
        &stack::dynamodb_url(DEV_DYNAMODB_PORT),
        &table,
        &api,
        "dev-bridge",
    )
    .await?;

    match (&issuer, auth.dev_issuer_port) {
        (Some(issuer), Some(port)) => {
            match seed::seed(&api, issuer, port, &operator_tenant).await {
                Ok(seeded) => {
                    seed::print_examples(
                        &api,
                        issuer,
                        port,
                        &operator_tenant,
                        &seeded,
                        policy_dir.as_deref(),
                    )?;
                    match seed::seed_demo_team(DEV_GRAPH_PORT, &seeded.tenant_id).await {
                        Ok(()) => seed::print_team_examples(&api, &seeded),
                        Err(err) => eprintln!("WARNING: the demo team was not set: {err:#}"),
                    }
                }
                Err(err) => eprintln!(
                    "\nWARNING: seeding the demo tenant failed; the stack runs without demo \
                     data (retry with `cargo xtask seed`):\n{err:#}\nend of {}:\n{}",
                    watch.log().display(),
                    crate::process::tail(watch.log(), 30)
                ),
            }
        }
        _ => println!(
            "\nNot seeding: the stack trusts {} and the dev issuer cannot mint tokens for it.",
            auth.issuer
        ),
    }

    let bridge_log = match &bridge {
        Some(_) => format!(
            ", {}/dev-bridge.log (stream and sweeps)",
            paths::logs_dir().display()
        ),
        None => String::new(),
    };
    println!(
        "\nLogs: {dir}/dev-watch.log (functions), {dir}/dev-dynamodb.log, {dir}/dev-graph.log\
         {bridge_log}\n\
         DynamoDB Local: {ddb} (in memory, table {table})\n\
         Stratus dev stack ready at {api} (Ctrl-C to stop)",
        dir = paths::logs_dir().display(),
        ddb = stack::dynamodb_url(DEV_DYNAMODB_PORT),
    );

    // Until Ctrl-C (the signal handler stops the services and exits) or a service dies.
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        database.ensure_running()?;
        watch.ensure_running()?;
        graph_process.ensure_running()?;
        if let Some(bridge) = &bridge {
            bridge.ensure_running()?;
        }
        if let Some(process) = issuer_process.as_mut() {
            process.ensure_running()?;
        }
    }
}
