//! The local stand-ins for what triggers `route-tasks` in AWS, so that the local stack runs
//! the function's own code path and no routing logic of its own:
//! - the event source mapping on the table's stream: DynamoDB Local's stream is followed,
//!   the records the template's `FilterCriteria` admits are posted to the function through
//!   `cargo lambda watch` in Lambda's DynamoDB event shape, in batches of its `BatchSize`,
//!   each retried until the function takes it;
//! - the EventBridge schedule: a sweep every `STRATUS_SWEEP_INTERVAL_MS`, one at a time (one
//!   pass each, where AWS's schedule asks once a minute for twelve, five seconds apart).
//!
//! Both run as tokio tasks of xtask and log to `<logs>/<name>.log`. `STRATUS_BRIDGE=off`
//! leaves them out.

mod filter;
mod invoke;
mod record;
mod stream;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use aws_sdk_dynamodbstreams::config::timeout::TimeoutConfig;
use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{paths, table};
use filter::EventSource;
use invoke::{Backoff, Invoker, Log, Stop};
use stream::{Follower, Pacing};

/// The function the stream and the schedule trigger (its directory and Lambda name).
pub const ROUTE_TASKS: &str = "route-tasks";
const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_millis(1000);

/// Everything the bridge needs; [`Config::local`] gives the stack's.
#[derive(Clone, Debug)]
pub struct Config {
    pub dynamodb_endpoint: String,
    pub table: String,
    pub api_url: String,
    pub function: String,
    pub template: PathBuf,
    pub log: PathBuf,
    pub debug: bool,
    pub sweep_interval: Duration,
    pub pacing: Pacing,
}

impl Config {
    /// The stack's bridge: `route-tasks`, the repository's template, the log
    /// `<logs>/<log_name>.log`, `STRATUS_SWEEP_INTERVAL_MS` and `STRATUS_BRIDGE_LOG=debug`.
    pub fn local(
        dynamodb_endpoint: &str,
        table: &str,
        api_url: &str,
        log_name: &str,
    ) -> anyhow::Result<Self> {
        let sweep_interval = match std::env::var("STRATUS_SWEEP_INTERVAL_MS") {
            Ok(text) if !text.trim().is_empty() => Duration::from_millis(
                text.trim()
                    .parse()
                    .with_context(|| format!("STRATUS_SWEEP_INTERVAL_MS={text:?}"))?,
            ),
            _ => DEFAULT_SWEEP_INTERVAL,
        };
        Ok(Self {
            dynamodb_endpoint: dynamodb_endpoint.to_owned(),
            table: table.to_owned(),
            api_url: api_url.to_owned(),
            function: ROUTE_TASKS.to_owned(),
            template: paths::template(),
            log: paths::logs_dir().join(format!("{log_name}.log")),
            debug: std::env::var("STRATUS_BRIDGE_LOG").is_ok_and(|level| level == "debug"),
            sweep_interval,
            pacing: Pacing {
                idle_poll: Duration::from_millis(150),
                retry: Backoff {
                    first: Duration::from_millis(500),
                    max: Duration::from_secs(30),
                },
            },
        })
    }
}

/// Whether the stack runs the bridge (`STRATUS_BRIDGE=off` leaves it out).
pub fn enabled() -> bool {
    !std::env::var("STRATUS_BRIDGE").is_ok_and(|value| value.eq_ignore_ascii_case("off"))
}

/// The running bridge; [`Bridge::stop`] ends it (dropping it aborts its tasks).
pub struct Bridge {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    log: PathBuf,
}

/// Starts the stack's bridge, or returns `None` if `STRATUS_BRIDGE=off`.
pub async fn start_local(
    dynamodb_endpoint: &str,
    table: &str,
    api_url: &str,
    log_name: &str,
) -> anyhow::Result<Option<Bridge>> {
    if !enabled() {
        println!("==> STRATUS_BRIDGE=off: {ROUTE_TASKS} gets no stream records and no sweeps");
        return Ok(None);
    }
    let config = Config::local(dynamodb_endpoint, table, api_url, log_name)?;
    start(config).await.map(Some)
}

/// Reads the function's trigger from the template and the table's stream ARN (failing here
/// if either is missing), then starts the stream follower and the sweep timer.
pub async fn start(config: Config) -> anyhow::Result<Bridge> {
    let source = EventSource::from_template(&config.template, &config.function)?;
    let stream_arn = stream_arn(&config.dynamodb_endpoint, &config.table).await?;
    let log = Log::create(&config.log, config.debug)?;
    println!(
        "==> starting the stream bridge and sweep timer for {} (log: {})",
        config.function,
        config.log.display()
    );
    log.info(&format!(
        "{} gets the records of {} that {} filter(s) admit, {} at most per invocation, and a \
         sweep every {} ms",
        config.function,
        config.table,
        source.patterns.len(),
        source.batch_size,
        config.sweep_interval.as_millis()
    ));
    let invoker = Invoker::new(&config.api_url, &config.function)?;
    let (stop, stopped) = watch::channel(false);
    let follower = Follower {
        client: streams_client(&config.dynamodb_endpoint),
        stream_arn,
        source,
        invoker: invoker.clone(),
        log: log.clone(),
        pacing: config.pacing,
        stop: Stop(stopped.clone()),
    };
    let tasks = vec![
        tokio::spawn(follower.run()),
        tokio::spawn(sweep(
            invoker,
            config.sweep_interval,
            config.pacing.retry,
            log,
            Stop(stopped),
        )),
    ];
    Ok(Bridge {
        stop,
        tasks,
        log: config.log,
    })
}

impl Bridge {
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Fails if a task ended without being asked to (it panicked).
    pub fn ensure_running(&self) -> anyhow::Result<()> {
        if self.tasks.iter().any(JoinHandle::is_finished) {
            bail!(
                "the stream bridge stopped unexpectedly; see {}",
                self.log.display()
            );
        }
        Ok(())
    }

    /// Asks the tasks to stop and waits for them (an invocation under way is abandoned).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The sweep payload: what the EventBridge schedule sends (`infra/template.yaml`), with one
/// pass and no wait between passes, since the timer itself comes back every interval.
pub fn local_sweep_payload() -> Value {
    json!({"sweep": {"passes": 1, "intervalSeconds": 0}})
}

/// Invokes the sweep, waits `interval` after it ends, and again: never two at once, however
/// long one takes. After failures it slows down (backoff), each failure logged.
async fn sweep(invoker: Invoker, interval: Duration, backoff: Backoff, log: Log, mut stop: Stop) {
    let payload = local_sweep_payload();
    let mut failures = 0;
    let mut sweeps: u64 = 0;
    loop {
        let started = std::time::Instant::now();
        let result = tokio::select! {
            _ = stop.wait() => break,
            result = invoker.invoke(&payload) => result,
        };
        let wait = match result {
            Ok(()) => {
                failures = 0;
                sweeps += 1;
                log.debug(&format!(
                    "sweep {sweeps} took {} ms",
                    started.elapsed().as_millis()
                ));
                interval
            }
            Err(err) => {
                failures += 1;
                let wait = interval.max(backoff.after(failures));
                log.warn(&format!(
                    "{} failed on a sweep (failure {failures} in a row), next in {} ms: {err:#}",
                    invoker.function,
                    wait.as_millis()
                ));
                wait
            }
        };
        if !stop.sleep(wait).await {
            break;
        }
    }
    log.info("sweep timer stopped");
}

/// The table's stream (DescribeTable's LatestStreamArn).
async fn stream_arn(endpoint: &str, table: &str) -> anyhow::Result<String> {
    let described = table::local_client(endpoint)
        .describe_table()
        .table_name(table)
        .send()
        .await
        .with_context(|| format!("describing the table {table} at {endpoint}"))?;
    described
        .table()
        .and_then(|table| table.latest_stream_arn())
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "the table {table} has no stream (infra/template.yaml's StreamSpecification \
                 creates it)"
            )
        })
}

/// A DynamoDB Streams client for DynamoDB Local at `endpoint` (the same endpoint, region and
/// dummy credentials as the table's client). Short timeouts: DynamoDB Local answers in
/// milliseconds, and when it is frozen (the outage tests) the follower retries instead.
fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(table::REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            table::LOCAL_ACCESS_KEY_ID,
            table::LOCAL_SECRET_ACCESS_KEY,
            None,
            None,
            "xtask",
        ))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}
