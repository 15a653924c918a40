//! Live routing in process against DynamoDB Local: arrival → offer (a task submitted and the
//! routing pass that offers it) with 10, 100 and 1,000 eligible agents, its DynamoDB round
//! trips, and decisions per second of one service working through a queue — next to one raw
//! GetItem, the floor of any DynamoDB Local round trip, in the same run.
//!
//! Each size gets a floor of its own (a Teams-based service whose agents are all Active and
//! Available, written straight into a table of its own) and a fresh `Kernel`. One sample is
//! one task: `submit` then `route_service` until the task is offered; after it, untimed, the
//! task is abandoned so its agent is free again. Median and p99 are over the measured
//! samples; the built-in longest-idle decides (no plugin), so this is the host's own cost.
//!
//! `cargo xtask bench` runs it against a fresh DynamoDB Local; by hand:
//! `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 AWS_REGION=us-east-1 \
//!  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x cargo bench -p stratus-blackbox-tests --bench routing`

#[path = "counting.rs"]
mod counting;
#[path = "../common/floor.rs"]
mod floor;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use counting::{Counter, CountingInterceptor};
use criterion::{Criterion, SamplingMode};
use floor::Floor;
use stratus_kernel::table::{DynamoDbBounds, Table};
use stratus_services::distribution::DistributionSettings;
use stratus_tasks::model::TaskState;
use stratus_tasks::store::{read_task, Writes};
use tokio::runtime::Runtime;

const SIZES: [usize; 3] = [10, 100, 1_000];
const SAMPLES: usize = 30;
const QUEUE_BURST: usize = 50;

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

async fn counted_table(counter: &Arc<Counter>) -> Table {
    let bounds = DynamoDbBounds::from_env().expect("DynamoDB bounds");
    let sdk = bounds
        .apply(aws_config::defaults(aws_config::BehaviorVersion::latest()))
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(CountingInterceptor(counter.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let name = format!(
        "stratus-bench-routing-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    stratus_kernel::table::setup::create_table_from_template(&client, &template, &name)
        .await
        .expect("creating the bench table");
    Table::new(client, name)
}

/// One arrival → offer; answers the task.
async fn arrival_to_offer(floor: &Floor) -> stratus_kernel::Guid {
    let id = floor.submit().await;
    for _ in 0..10 {
        floor
            .pass(&Writes::unlimited())
            .await
            .expect("routing pass");
        let task = read_task(floor.kernel.table(), &floor.tenant, &id)
            .await
            .unwrap()
            .unwrap()
            .task;
        if task.state == TaskState::Offered {
            return id;
        }
    }
    panic!("task {id} was not offered");
}

/// Abandons the task, freeing its agent for the next sample (untimed).
fn free(runtime: &Runtime, floor: &Floor, id: &stratus_kernel::Guid) {
    runtime
        .block_on(stratus_tasks::app::abandon(
            &floor.kernel,
            &floor.tenant,
            id,
        ))
        .expect("abandoning the task");
}

struct Row {
    agents: usize,
    median: Duration,
    p99: Duration,
    round_trips: u64,
    in_dynamodb: Duration,
    calls: String,
}

fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("AWS_ENDPOINT_URL_DYNAMODB is not set: this bench needs DynamoDB Local");
        std::process::exit(1);
    }
    let runtime = Runtime::new().expect("runtime");
    let counter = Arc::new(Counter::default());
    let table = runtime.block_on(counted_table(&counter));
    let mut criterion = Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .without_plots();
    let mut rows = Vec::new();
    let mut raw_times = Vec::new();
    for agents in SIZES {
        let floor = runtime.block_on(Floor::open(
            &table,
            agents,
            DistributionSettings::default(),
            16,
        ));
        // Warm: the kernel's first pass, and the round trips of one arrival → offer.
        let id = runtime.block_on(arrival_to_offer(&floor));
        free(&runtime, &floor, &id);
        counter.reset();
        let id = runtime.block_on(arrival_to_offer(&floor));
        let round_trips = counter.calls();
        let (in_dynamodb, timed) = counter.timing();
        // Each operation's count and time in the counted run (side-by-side calls count once,
        // under the name of the first).
        let mut by_name: Vec<(String, usize, Duration)> = Vec::new();
        for name in counter.names() {
            match by_name.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => entry.1 += 1,
                None => by_name.push((name, 1, Duration::ZERO)),
            }
        }
        for (name, took) in timed {
            if let Some(entry) = by_name.iter_mut().find(|(n, _, _)| *n == name) {
                entry.2 += took;
            }
        }
        let calls: Vec<String> = by_name
            .iter()
            .map(|(name, count, took)| format!("{name} ×{count} ({})", ms(*took)))
            .collect();
        free(&runtime, &floor, &id);

        let samples = Arc::new(Mutex::new(Vec::new()));
        let mut group = criterion.benchmark_group("arrival-to-offer");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function(format!("{agents}-agents"), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let started = Instant::now();
                    let id = runtime.block_on(arrival_to_offer(&floor));
                    let took = started.elapsed();
                    total += took;
                    samples.lock().unwrap().push(took);
                    free(&runtime, &floor, &id);
                }
                total
            })
        });
        group.finish();
        let samples = samples.lock().unwrap().clone();
        rows.push(Row {
            agents: floor.agents.len(),
            median: percentile(&samples, 0.5),
            p99: percentile(&samples, 0.99),
            round_trips,
            in_dynamodb,
            calls: calls.join(", "),
        });

        // The raw round trip beside it: a consistent GetItem of the service's item.
        let key = stratus_kernel::table::key(
            stratus_kernel::table::keys::tenant_pk(&floor.tenant),
            stratus_kernel::table::keys::service_sk(&floor.service),
        );
        for _ in 0..SAMPLES {
            let started = Instant::now();
            runtime
                .block_on(
                    table
                        .client()
                        .get_item()
                        .table_name(table.name())
                        .set_key(Some(key.clone()))
                        .consistent_read(true)
                        .send(),
                )
                .unwrap();
            raw_times.push(started.elapsed());
        }
    }

    // Decisions per second: one service with 100 agents works through a burst of waiting
    // tasks in one pass.
    let floor = runtime.block_on(Floor::open(
        &table,
        100,
        DistributionSettings::default(),
        16,
    ));
    let ids: Vec<_> = (0..QUEUE_BURST)
        .map(|_| runtime.block_on(floor.submit()))
        .collect();
    counter.reset();
    let started = Instant::now();
    let report = runtime.block_on(floor.pass(&Writes::unlimited())).unwrap();
    let burst = started.elapsed();
    let burst_trips = counter.calls();
    assert_eq!(
        report.offers as usize,
        ids.len(),
        "one pass offers every task"
    );

    let raw_median = percentile(&raw_times, 0.5);
    let mut md = String::from(
        "### Live routing: arrival → offer (in process, DynamoDB Local)\n\n\
         | eligible agents | median | p99 | × raw GetItem | DynamoDB round trips | in DynamoDB (one counted run) | operations (count, time waited) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in &rows {
        md.push_str(&format!(
            "| {} | {} | {} | {:.1}× | {} | {} | {} |\n",
            row.agents,
            ms(row.median),
            ms(row.p99),
            row.median.as_secs_f64() / raw_median.as_secs_f64(),
            row.round_trips,
            ms(row.in_dynamodb),
            row.calls
        ));
    }
    md.push_str(&format!(
        "\nRaw consistent GetItem in the same run: median {}, p99 {} ({} samples).\n\n\
         One pass of a service with 100 agents through {QUEUE_BURST} waiting tasks: {} \
         ({:.0} decisions per second), {burst_trips} DynamoDB round trips.\n",
        ms(raw_median),
        ms(percentile(&raw_times, 0.99)),
        raw_times.len(),
        ms(burst),
        QUEUE_BURST as f64 / burst.as_secs_f64(),
    ));
    println!("\n{md}");
    if let Ok(dir) = std::env::var("STRATUS_BENCH_RESULTS_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("routing.md"), &md)
            .expect("writing results");
    }
}
