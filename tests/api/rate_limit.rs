//! Rate limit: 60 operations per 60 s per tenant and app, across all operations and function
//! instances. Over the limit a request is delayed until a slot frees, up to the bound
//! (STRATUS_RATE_LIMIT_MAX_DELAY_MS, 5 s in the test stack); beyond it: 429 + Retry-After.

use std::time::{Duration, Instant};

use futures::StreamExt;
use stratus_blackbox_tests::*;

const WINDOW: Duration = Duration::from_secs(60);

#[track_caller]
fn assert_rate_limited(reply: &Reply) -> u64 {
    let detail = reply.assert_problem_status(429);
    let retry_after = reply.header("retry-after").unwrap_or("");
    let secs: u64 = retry_after.parse().unwrap_or_else(|_| {
        panic!(
            "Retry-After must be an integer number of seconds, got {retry_after:?}; {}",
            reply.text
        )
    });
    assert!((1..=60).contains(&secs), "Retry-After {secs} out of 1..=60");
    assert_eq!(
        detail,
        format!("Rate limit of 60 operations per minute exceeded; retry after {secs} seconds")
    );
    secs
}

async fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        tokio::time::sleep(deadline - now).await;
    }
}

/// One request at t0, 59 more just before t0 + 60 s: all immediate. The 61st must wait for
/// t0's slot to leave the window (a few seconds, within the bound) and succeeds; the 62nd
/// would have to wait almost a minute: 429. Another app of the tenant is not affected.
#[tokio::test]
async fn the_sixty_first_is_delayed_and_the_sixty_second_refused() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let other_app = t.register_app(&[&t.sales_ou]).await;
    let token = t.app_token();

    // Warm the function up (cargo lambda may build and start it on first use) with the other
    // app, so that the timeline below is not stretched by a cold start.
    stack
        .license_usage(&t.token_for_app(&other_app))
        .await
        .assert_status(200);

    // The first request is admitted somewhere between sending and answering; t0 is the
    // answer, so t0's slot leaves the window at t0 + 60 s at the latest.
    let first = stack.license_usage(&token).await;
    first.assert_status(200);
    let t0 = Instant::now();
    let first_uncertainty = first.elapsed;

    // The burst of 59 starts at t0 + 53 s so that a slow machine still has until t0 + 58 s to
    // finish it; the 61st request then goes out at t0 + 56 s at the earliest.
    sleep_until(t0 + Duration::from_secs(53)).await;
    let burst: Vec<Reply> = futures::stream::iter(0..59)
        .map(|_| {
            let (stack, token) = (stack.clone(), token.clone());
            async move { stack.license_usage(&token).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for reply in &burst {
        reply.assert_status(200);
        assert!(
            reply.elapsed < Duration::from_secs(2),
            "requests 2..=60 are within the limit and must not be delayed: {:?}",
            reply.elapsed
        );
    }
    assert!(
        Instant::now() < t0 + Duration::from_secs(58),
        "the machine is too slow for this test: 60 requests took until t0 + {:?}",
        t0.elapsed()
    );
    sleep_until(t0 + Duration::from_secs(56)).await;

    // 61st: delayed until t0's slot leaves the window (t0 + 60 s), then served.
    let sent = Instant::now();
    let expected_wait = (t0 + WINDOW).saturating_duration_since(sent);
    let delayed = stack.license_usage(&token).await;
    delayed.assert_status(200);
    assert!(
        delayed.elapsed >= Duration::from_secs(2) && delayed.elapsed < Duration::from_secs(6),
        "the 61st request should be delayed 2..6 s (expected about {expected_wait:?}), took {:?}",
        delayed.elapsed
    );
    assert!(
        delayed.elapsed + first_uncertainty + Duration::from_millis(500) >= expected_wait,
        "the 61st request must wait for the window: expected about {expected_wait:?}, took {:?}",
        delayed.elapsed
    );

    // 62nd: the next slot frees about 53 s from now, far beyond the bound.
    let refused = stack.license_usage(&token).await;
    let retry_after = assert_rate_limited(&refused);
    assert!(
        retry_after >= 40,
        "the next slot frees when the burst leaves the window (~53 s), Retry-After {retry_after}"
    );
    assert!(
        refused.elapsed < Duration::from_secs(3),
        "a refusal is not delayed first: {:?}",
        refused.elapsed
    );
    // Every operation counts against the same budget.
    let refused = stack.get_user(&token, &new_id()).await;
    assert_rate_limited(&refused);

    // Another app of the same tenant has its own budget.
    let other = stack.license_usage(&t.token_for_app(&other_app)).await;
    other.assert_status(200);
    assert!(
        other.elapsed < Duration::from_secs(2),
        "another app is not limited: {:?}",
        other.elapsed
    );
}

/// Seventy requests at once, spread over two operations (two functions): sixty are admitted,
/// and the other ten cannot be admitted within the bound (the next slot frees in ~60 s).
#[tokio::test]
async fn seventy_simultaneous_requests_admit_exactly_sixty() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await; // op 1
    let token = t.app_token();
    // Warm both functions up with another app so a cold start cannot stretch the burst.
    let warm_app = t.register_app(&[&t.sales_ou]).await;
    let warm = t.token_for_app(&warm_app);
    stack.license_usage(&warm).await.assert_status(200);
    stack.get_user(&warm, &id).await.assert_status(200);
    let started = Instant::now();
    let replies = all_at_once(69, |i| {
        let (stack, token, id) = (stack.clone(), token.clone(), id.clone());
        async move {
            if i % 2 == 0 {
                stack.license_usage(&token).await
            } else {
                stack.get_user(&token, &id).await
            }
        }
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the burst must finish well inside the window, took {:?}",
        started.elapsed()
    );
    let counts = status_counts(&replies);
    assert_eq!(
        counts.get(&200).copied().unwrap_or(0),
        59,
        "59 + the create = 60 admitted; statuses {counts:?}"
    );
    assert_eq!(
        counts.get(&429).copied().unwrap_or(0),
        10,
        "statuses {counts:?}"
    );
    for reply in replies.iter().filter(|r| r.status == 429) {
        let secs = assert_rate_limited(reply);
        assert!(
            secs >= 15,
            "the window only just started, Retry-After {secs}"
        );
    }
    // A different app of the tenant is unaffected.
    stack.license_usage(&warm).await.assert_status(200);
}
