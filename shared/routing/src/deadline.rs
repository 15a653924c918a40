//! A decision's deadline as the plugin's own running time, not the wall time a busy host
//! lets pass while the decision thread waits to be scheduled.

use std::time::{Duration, Instant};

use wasmtime::{StoreContextMut, UpdateDeadline};

use crate::engine::Limits;
use crate::policy::DecisionState;

/// How far past its deadline in wall time a decision may run while its thread was not
/// running (a busy host): the deadline is the plugin's own time, within this many times it.
const MAX_DEADLINE_STRETCH: u32 = 10;

/// The deadline as the plugin's own running time. The epoch ticker counts wall time, and a
/// thread that the machine did not schedule for part of it (other processes, other Lambda
/// tenants of the host) would time out a plugin that ran for a fraction of its deadline: when
/// the ticks run out, the time the thread actually ran decides, and the plugin gets the ticks
/// it has not had, up to `MAX_DEADLINE_STRETCH` times the deadline in wall time.
pub(crate) fn deadline_check(
    limits: &Limits,
) -> impl FnMut(StoreContextMut<'_, DecisionState>) -> wasmtime::Result<UpdateDeadline>
       + Send
       + Sync
       + 'static {
    let deadline = limits.deadline();
    let tick = limits.epoch_tick.max(Duration::from_micros(100));
    let started = Instant::now();
    let cpu_started = thread_cpu_time();
    move |_| {
        let ran = match (cpu_started, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            // No per-thread clock: wall time is all there is.
            _ => return Ok(UpdateDeadline::Interrupt),
        };
        Ok(deadline_verdict(ran, started.elapsed(), deadline, tick))
    }
}

/// At the end of the ticks a plugin was given: stop it when it has run its deadline (or the
/// wall-time cap is reached), else give it the ticks it is still owed. Pure.
fn deadline_verdict(
    ran: Duration,
    elapsed: Duration,
    deadline: Duration,
    tick: Duration,
) -> UpdateDeadline {
    if ran >= deadline || elapsed >= deadline * MAX_DEADLINE_STRETCH {
        return UpdateDeadline::Interrupt;
    }
    let owed = (deadline - ran).as_nanos() / tick.as_nanos().max(1);
    UpdateDeadline::Continue(u64::try_from(owed).unwrap_or(1).max(1))
}

/// The CPU time the calling thread has used.
#[cfg(unix)]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_plugin_that_ran_its_deadline_stops_and_one_that_waited_gets_what_it_is_owed() {
        let (deadline, tick) = (ms(20), ms(1));
        assert!(matches!(
            deadline_verdict(ms(20), ms(20), deadline, tick),
            UpdateDeadline::Interrupt
        ));
        // 20 ms passed but the thread ran 5: 15 ticks more.
        assert!(matches!(
            deadline_verdict(ms(5), ms(20), deadline, tick),
            UpdateDeadline::Continue(15)
        ));
        // Never past ten times the deadline in wall time, however little it ran.
        assert!(matches!(
            deadline_verdict(ms(1), ms(200), deadline, tick),
            UpdateDeadline::Interrupt
        ));
        // Less than a tick owed still gets one.
        assert!(matches!(
            deadline_verdict(Duration::from_micros(19_900), ms(30), deadline, tick),
            UpdateDeadline::Continue(1)
        ));
    }
}
