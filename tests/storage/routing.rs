//! Live routing against DynamoDB Local, driven directly: a routing pass "crashes" before its
//! k-th write, for every k, and the state it leaves must be whole — every waiting task in its
//! queue and counted, every agent's open offer the one its task lists — and the next pass
//! must carry it to the same end as an uninterrupted one.

use std::collections::BTreeSet;
use std::time::Duration;

use stratus_kernel::table::Table as Store;
use stratus_kernel::Guid;
use stratus_services::distribution::DistributionSettings;
use stratus_tasks::model::{OfferState, Task, TaskState};
use stratus_tasks::store::{queue_of, read_agent_load, read_tasks, service_counters, Writes};

use super::floor::Floor;
use super::store;

/// The floor of these tests: ringing for 5 s and pausing an agent after one missed offer.
async fn floor(store: &Store, n: usize) -> Floor {
    let distribution = DistributionSettings {
        ring_timeout_seconds: 5,
        auto_pause_after_missed_offers: 1,
        ..DistributionSettings::default()
    };
    Floor::open(store, n, distribution, 1).await
}

trait Checks {
    async fn tasks(&self, ids: &[Guid]) -> Vec<Task>;
    async fn ran(&self, writes: &Writes) -> bool;
    async fn assert_whole(&self, ids: &[Guid], when: &str);
}

impl Checks for Floor {
    async fn ran(&self, writes: &Writes) -> bool {
        self.pass(writes).await.is_ok()
    }

    async fn tasks(&self, ids: &[Guid]) -> Vec<Task> {
        read_tasks(self.kernel.table(), &self.tenant, ids)
            .await
            .unwrap()
    }

    /// The invariants every write keeps, checked on the stored state.
    async fn assert_whole(&self, ids: &[Guid], when: &str) {
        let table = self.kernel.table();
        let tasks = self.tasks(ids).await;
        let (queued, working) = queue_of(table, &self.tenant, &self.service).await.unwrap();
        let queued: BTreeSet<Guid> = queued.into_iter().collect();
        for task in &tasks {
            assert_eq!(
                queued.contains(&task.id),
                task.state.is_waiting(),
                "{when}: task {} is {} but {} the queue",
                task.id,
                task.state,
                if queued.contains(&task.id) {
                    "in"
                } else {
                    "not in"
                }
            );
        }
        let (waiting, held, _) = service_counters(table, &self.tenant, &self.service)
            .await
            .unwrap();
        assert_eq!(waiting, queued.len() as i64, "{when}: the waiting counter");
        assert_eq!(held, working.len() as i64, "{when}: the working counter");
        for agent in &self.agents {
            let load = read_agent_load(table, &self.tenant, agent).await.unwrap();
            let listed: Vec<&Guid> = tasks
                .iter()
                .filter(|t| t.open_offer_of(agent).is_some())
                .map(|t| &t.id)
                .collect();
            assert!(
                listed.len() <= 1,
                "{when}: agent {agent} has two open offers"
            );
            assert_eq!(
                load.offer_task_id.as_ref(),
                listed.first().copied(),
                "{when}: agent {agent}'s open offer and the tasks' disagree"
            );
        }
    }
}

/// The state the crash tests start from: one task whose offer rang out (the next pass
/// expires it and pauses the agent), two new tasks, five agents.
async fn before_the_pass(store: &Store) -> (Floor, Vec<Guid>, Guid) {
    let floor = floor(store, 5).await;
    let first = floor.submit().await;
    assert!(floor.ran(&Writes::unlimited()).await);
    let missed_by = floor.tasks(&[first.clone()]).await[0].offers[0]
        .agent_id
        .clone();
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let ids = vec![first, floor.submit().await, floor.submit().await];
    (floor, ids, missed_by)
}

#[tokio::test]
async fn a_pass_cut_off_after_any_write_leaves_whole_state_that_the_next_pass_completes() {
    let store = store().await;
    // An uninterrupted pass makes 4 writes: the expiry (with the pause), then 3 offers.
    let scenarios = (0..=4).map(|k| {
        let store = store.clone();
        async move {
            let (floor, ids, missed_by) = before_the_pass(&store).await;
            let finished = floor.ran(&Writes::crash_after(k)).await;
            assert_eq!(finished, k >= 4, "crash after {k} writes");
            floor
                .assert_whole(&ids, &format!("after a crash after {k} writes"))
                .await;
            for _ in 0..2 {
                assert!(floor.ran(&Writes::unlimited()).await);
            }
            floor
                .assert_whole(&ids, &format!("recovered from {k}"))
                .await;
            let tasks = floor.tasks(&ids).await;
            let mut offered = BTreeSet::new();
            for task in &tasks {
                assert_eq!(task.state, TaskState::Offered, "k={k}: {task:?}");
                let open: Vec<_> = task.open_offers().collect();
                assert_eq!(open.len(), 1, "k={k}");
                assert!(
                    offered.insert(open[0].agent_id.clone()),
                    "k={k}: an agent got two"
                );
                assert_ne!(
                    open[0].agent_id, missed_by,
                    "k={k}: the paused agent was rung"
                );
            }
            assert_eq!(
                tasks[0].offers[0].state,
                OfferState::Expired,
                "k={k}: the missed offer"
            );
            let paused = store
                .agent_state(&floor.tenant, &missed_by)
                .await
                .unwrap()
                .unwrap();
            assert!(
                paused.not_available_reason_id.is_some(),
                "k={k}: not paused"
            );
            // The pause is in the user-state history, once.
            let history = store
                .query_prefix(
                    stratus_kernel::table::keys::agent_pk(&floor.tenant, &missed_by),
                    "HISTORY#",
                )
                .await
                .unwrap();
            let pauses = history
                .iter()
                .filter(|item| {
                    item.get("to")
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                        == Some("Missed offers")
                })
                .count();
            assert_eq!(pauses, 1, "k={k}: the pause in the history");
        }
    });
    futures::future::join_all(scenarios).await;
}

#[tokio::test]
async fn two_passes_at_once_never_give_an_agent_two_offers_or_a_task_two_agents() {
    let store = store().await;
    let floor = floor(&store, 3).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(floor.submit().await);
    }
    let writes = Writes::unlimited();
    let passes = (0..4).map(|_| floor.ran(&writes));
    futures::future::join_all(passes).await;
    floor.assert_whole(&ids, "after four passes at once").await;
    let offered = floor
        .tasks(&ids)
        .await
        .iter()
        .filter(|t| t.state == TaskState::Offered)
        .count();
    assert_eq!(offered, 3, "three agents, three offers");
}
