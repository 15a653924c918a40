// The guest glue shared by the built-in policy components, `include!`d by each one's lib.rs:
// the wit-bindgen bindings, the conversion from the contract's records to policy-logic's,
// the `host` imports behind policy-logic's `Host` trait, and — on wasm32 — the allocator,
// `cabi_realloc`, `memcmp` and panic handler that let the component link without std (so it
// imports nothing but the contract's interfaces). Included rather than a crate of its own because wit-bindgen's
// exports must be generated in the crate that is the component.

wit_bindgen::generate!({
    world: "routing-policy",
    path: "../wit",
});

use alloc::string::String;
use alloc::vec::Vec;

// `task`, `candidates`, `context` and `outcome` are in scope already: the world `use`s them.
use stratus::routing::types::{Decision, Modality, Offer, Overflow, Weekday};

/// The `host` imports, as policy-logic's `Host`.
struct ImportedHost;

impl policy_logic::Host for ImportedHost {
    fn candidate_id(&self, index: u32) -> String {
        stratus::routing::host::candidate_id(index)
    }
    fn candidate_attribute(&self, index: u32, key: &str) -> Option<String> {
        stratus::routing::host::candidate_attribute(index, key)
    }
    fn task_attribute(&self, key: &str) -> Option<String> {
        stratus::routing::host::task_attribute(key)
    }
}

/// Moves the contract's records into policy-logic's (no copies of the columns), runs `policy`,
/// and moves the outcome back.
fn run_policy(
    task: Task,
    skill_names: Vec<String>,
    candidates: Candidates,
    context: Context,
    policy: impl FnOnce(&policy_logic::Input, &dyn policy_logic::Host) -> policy_logic::Outcome,
) -> Outcome {
    let task = policy_logic::Task {
        id: task.id,
        service: task.service,
        modality: match task.modality {
            Modality::Audio => policy_logic::Modality::Audio,
            Modality::Video => policy_logic::Modality::Video,
            Modality::Chat => policy_logic::Modality::Chat,
            Modality::Email => policy_logic::Modality::Email,
            Modality::ExternalTask => policy_logic::Modality::ExternalTask,
        },
        priority: task.priority,
        waited_seconds: task.waited_seconds,
        required_skills: task
            .required_skills
            .into_iter()
            .map(|r| policy_logic::SkillRequirement {
                skill: r.skill,
                min_level: r.min_level,
            })
            .collect(),
        caller: task.caller,
    };
    let candidates = policy_logic::Candidates {
        count: candidates.count,
        skill_levels: candidates.skill_levels,
        idle_seconds: candidates.idle_seconds,
        handled_today: candidates.handled_today,
        talk_seconds_today: candidates.talk_seconds_today,
        last_offered_seconds_ago: candidates.last_offered_seconds_ago,
        last_answered_seconds_ago: candidates.last_answered_seconds_ago,
    };
    let context = policy_logic::Context {
        now_utc_seconds: context.now_utc_seconds,
        local_date: policy_logic::LocalDate {
            year: context.local_date.year,
            month: context.local_date.month,
            day: context.local_date.day,
        },
        weekday: match context.weekday {
            Weekday::Monday => policy_logic::Weekday::Monday,
            Weekday::Tuesday => policy_logic::Weekday::Tuesday,
            Weekday::Wednesday => policy_logic::Weekday::Wednesday,
            Weekday::Thursday => policy_logic::Weekday::Thursday,
            Weekday::Friday => policy_logic::Weekday::Friday,
            Weekday::Saturday => policy_logic::Weekday::Saturday,
            Weekday::Sunday => policy_logic::Weekday::Sunday,
        },
        minutes_since_midnight: context.minutes_since_midnight,
        holiday: context.holiday,
        config: context.config,
        seed: context.seed,
    };
    let input = policy_logic::Input {
        task: &task,
        skill_names: &skill_names,
        candidates: &candidates,
        context: &context,
    };
    let outcome = policy(&input, &ImportedHost);
    Outcome {
        decision: match outcome.decision {
            policy_logic::Decision::Offer(o) => Decision::Offer(Offer {
                order: o.order,
                simultaneous: o.simultaneous,
            }),
            policy_logic::Decision::Wait(seconds) => Decision::Wait(seconds),
            policy_logic::Decision::Overflow(o) => Decision::Overflow(Overflow {
                reason: o.reason,
                target: o.target,
            }),
        },
        reason: outcome.reason,
    }
}

// memcpy/memset come from wasi-libc on this target (compiler-builtins leaves them to libc);
// those functions are pure, and the linker keeps only them — no WASI import follows.
#[cfg(target_arch = "wasm32")]
#[link(name = "c")]
extern "C" {}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: Bump = Bump;

/// Every decision runs in a fresh instance, so memory never needs to be reused: a bump
/// allocator that grows linear memory and never frees is the cheapest allocator there is.
/// (The last allocation grows in place, so a growing Vec does not leave copies behind.)
#[cfg(target_arch = "wasm32")]
struct Bump;

#[cfg(target_arch = "wasm32")]
static mut BUMP_NEXT: usize = 0;
#[cfg(target_arch = "wasm32")]
static mut BUMP_END: usize = 0;
#[cfg(target_arch = "wasm32")]
static mut BUMP_LAST: usize = 0;

#[cfg(target_arch = "wasm32")]
unsafe impl core::alloc::GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() > 0x10000 {
            return core::ptr::null_mut(); // fresh pages are only page-aligned
        }
        let start = (BUMP_NEXT + layout.align() - 1) & !(layout.align() - 1);
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if BUMP_NEXT == 0 {
            // First allocation: use what the initial memory has left above the linker's
            // heap base before growing (no memory.grow, so no host call, for small decisions).
            extern "C" {
                static __heap_base: u8;
            }
            BUMP_NEXT = core::ptr::addr_of!(__heap_base) as usize;
            BUMP_END = core::arch::wasm32::memory_size(0) * 0x10000;
            return self.alloc(layout);
        }
        if end > BUMP_END {
            // Grow by whole pages (64 KiB), at least enough for this allocation.
            let need = layout.size().saturating_add(layout.align());
            let pages = need.div_ceil(0x10000);
            let pages = pages.max(4);
            let old = core::arch::wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return core::ptr::null_mut();
            }
            if old * 0x10000 != BUMP_END {
                BUMP_NEXT = old * 0x10000;
            }
            BUMP_END = (old + pages) * 0x10000;
            return self.alloc(layout);
        }
        BUMP_NEXT = end;
        BUMP_LAST = start;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        // Only the last allocation can be given back.
        if ptr as usize == BUMP_LAST && BUMP_LAST + layout.size() == BUMP_NEXT {
            BUMP_NEXT = BUMP_LAST;
        }
    }

    unsafe fn realloc(
        &self,
        ptr: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        if ptr as usize == BUMP_LAST && BUMP_LAST + new_size <= BUMP_END {
            BUMP_NEXT = BUMP_LAST + new_size;
            return ptr;
        }
        let new = self.alloc(core::alloc::Layout::from_size_align_unchecked(
            new_size,
            layout.align(),
        ));
        if !new.is_null() {
            core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
        }
        new
    }
}

/// The canonical ABI's allocator export. wit-bindgen leaves it to std/wasi-libc on wasm32-wasip2;
/// without std, the component provides it over its own global allocator.
///
/// # Safety
/// Called by the canonical ABI with a pointer/size/alignment it obtained from here.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use alloc::alloc::{alloc, realloc, Layout};
    let ptr = if old_len == 0 {
        if new_len == 0 {
            return align as *mut u8;
        }
        alloc(Layout::from_size_align_unchecked(new_len, align))
    } else {
        realloc(
            old_ptr,
            Layout::from_size_align_unchecked(old_len, align),
            new_len,
        )
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable();
    }
    ptr
}

/// wasi-libc's memcmp goes byte by byte (~20 instructions a byte, measured in fuel), and every
/// string comparison — JSON object keys, skill names, agent ids — goes through it. Eight bytes
/// at a time here; the linker takes this definition over the archive's.
///
/// # Safety
/// `a` and `b` are valid for `n` bytes (the C contract).
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        let x = core::ptr::read_unaligned(a.add(i) as *const u64);
        let y = core::ptr::read_unaligned(b.add(i) as *const u64);
        if x != y {
            // Little-endian: the first differing byte is the lowest differing one.
            let at = i + ((x ^ y).trailing_zeros() / 8) as usize;
            return *a.add(at) as i32 - *b.add(at) as i32;
        }
        i += 8;
    }
    while i < n {
        let (x, y) = (*a.add(i), *b.add(i));
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// Equality-only `memcmp`, which LLVM emits for `==` on byte slices.
///
/// # Safety
/// `a` and `b` are valid for `n` bytes (the C contract).
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

/// A panic traps; the host records the failed decision and its fallback decides.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Declares the component: the `Guest` implementation that moves the contract's records into
/// `decide` (a `policy-logic` strategy taking `(&Input, &dyn Host)`) and hands configurations
/// to `validate`, and its export.
macro_rules! policy_component {
    ($component:ident, $decide:expr, $validate:path) => {
        struct $component;

        impl Guest for $component {
            fn decide(
                task: Task,
                skill_names: Vec<String>,
                candidates: Candidates,
                context: Context,
            ) -> Outcome {
                run_policy(task, skill_names, candidates, context, $decide)
            }

            fn validate_config(config: String) -> Result<(), String> {
                $validate(&config)
            }
        }

        export!($component);
    };
}
