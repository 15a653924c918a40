//! A dependency down, as an operator meets it on a bad day: DynamoDB Local or the dev issuer
//! stopped with SIGSTOP (the process frozen, its port still accepting connections, so every
//! call hangs rather than failing fast). The API must answer within its configured bounds,
//! with 503 and `Retry-After`, and work again once the dependency is back.
//!
//! These tests freeze services the whole stack shares, so `cargo xtask test` runs them on
//! their own after the other black-box tests (which it runs with `--skip outage::`), one at a
//! time, and passes the process ids in `STRATUS_DYNAMODB_PID` and `STRATUS_DEV_ISSUER_PID`.

use std::time::Duration;

use stratus_blackbox_tests::*;

/// The functions give up on DynamoDB after 4 s (all retries) and on the issuer after 3 s by
/// default; this leaves room for watch and a busy machine, and stays far below the 15 s
/// function timeout that would otherwise end such a request.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// A frozen process, thawed again when this is dropped (also when the test panics).
struct Frozen {
    pid: i32,
    what: &'static str,
}

impl Frozen {
    fn freeze(variable: &str, what: &'static str) -> Frozen {
        let text = std::env::var(variable).unwrap_or_else(|_| {
            panic!("{variable} is not set: run these tests through `cargo xtask test`")
        });
        let pid: i32 = text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{variable}={text:?} is not a process id"));
        signal(pid, libc::SIGSTOP, what);
        Frozen { pid, what }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.pid, libc::SIGCONT, self.what);
    }
}

fn signal(pid: i32, signal: i32, what: &str) {
    // SAFETY: kill(2) with a pid the stack handed us; no memory is shared.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "signalling {what} (pid {pid}) failed");
}

fn assert_unavailable(reply: &Reply) {
    reply.assert_problem_status(503);
    assert_eq!(
        reply.header("retry-after"),
        Some("5"),
        "{}: a 503 says when to retry",
        reply.what
    );
    assert!(
        reply.elapsed < ANSWER_WITHIN,
        "{}: answered after {:?}",
        reply.what,
        reply.elapsed
    );
}

#[tokio::test]
async fn outage_of_the_database_answers_503_in_bounded_time_and_nothing_is_half_written() {
    let stack = Stack::from_env();
    let tenant = TestTenant::create(&stack).await;
    let existing = tenant.new_user(&tenant.sales_ou).await;
    // Copying this user takes a Contact Center seat: the write whose seat must be taken once.
    let (source, _) = tenant.configured_source(&["ContactCenter"]).await;
    let admin = tenant.admin_token();
    let (_, used_before, _) = tenant.usage_of("ContactCenter").await;
    // Every function the test calls has answered once, so the timings below are the
    // outage's, not a cold start's.
    stack.list_ous(&admin).await.assert_status(200);

    let newcomer = new_id();
    {
        let _frozen = Frozen::freeze("STRATUS_DYNAMODB_PID", "DynamoDB Local");
        let list = stack.list_ous(&admin).await;
        assert_unavailable(&list);
        // A few rounds, for the median the README reports.
        let (mut reads, mut writes) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let read = tenant.get_user(&existing).await;
            assert_unavailable(&read);
            reads.push(read.elapsed);
            let write = tenant.copy_user(&newcomer, &source).await;
            assert_unavailable(&write);
            writes.push(write.elapsed);
        }
        reads.sort();
        writes.sort();
        eprintln!(
            "database frozen: 503 after: list-organization-units {:?}; get-user {reads:?} \
             (median {:?}); copy-user {writes:?} (median {:?})",
            list.elapsed, reads[1], writes[1]
        );
    }

    // Back: reads work, and the client's retry of the write either makes the user or finds
    // it made (a request the database still held when it stopped may have landed); either
    // way it exists once and holds one seat.
    tenant.get_user(&existing).await.assert_status(200);
    stack.list_ous(&admin).await.assert_status(200);
    let retry = tenant.copy_user(&newcomer, &source).await;
    assert!(
        retry.status == 200 || (retry.status == 409 && retry.detail() == USER_EXISTS),
        "retrying the write: {} {}",
        retry.status,
        retry.text
    );
    tenant.get_user(&newcomer).await.assert_status(200);
    let (_, used_after, _) = tenant.usage_of("ContactCenter").await;
    assert_eq!(used_after, used_before + 1, "the write took its seat once");
}

#[tokio::test]
async fn outage_of_the_issuer_during_a_key_refetch_answers_in_bounded_time() {
    let stack = Stack::from_env();
    let tenant = TestTenant::create(&stack).await;
    let admin = tenant.admin_token();
    // The function instance now holds the issuer's keys.
    stack.list_ous(&admin).await.assert_status(200);
    // A token for the same tenant signed by a key the issuer never published: its unknown
    // `kid` makes the function refetch the key set.
    let rotated = DevIssuer::generate().expect("another key");
    let unknown_kid = rotated
        .sign(&stack.admin_spec(&tenant.id).claims())
        .expect("signing");

    let _frozen = Frozen::freeze("STRATUS_DEV_ISSUER_PID", "the dev issuer");
    let known = stack.list_ous(&admin).await;
    known.assert_status(200);
    assert!(
        known.elapsed < ANSWER_WITHIN,
        "a known key needs no fetch: {:?}",
        known.elapsed
    );

    let refused = stack.list_ous(&unknown_kid).await;
    assert!(
        refused.elapsed < ANSWER_WITHIN,
        "the refetch is bounded: answered after {:?}",
        refused.elapsed
    );
    // 401 from an instance that has keys: the token cannot be verified, and a made-up kid
    // must not make Stratus look down. 503 only from an instance that never had keys.
    match refused.status {
        401 => {
            refused.assert_bearer_challenge();
        }
        503 => assert_unavailable(&refused),
        other => panic!(
            "unknown kid while the issuer is down: {other} {}",
            refused.text
        ),
    }
    eprintln!(
        "issuer frozen: known key 200 after {:?}, unknown kid {} after {:?}",
        known.elapsed, refused.status, refused.elapsed
    );
}
