//! The store's resource limiter: the sandbox's memory and table limits, and a record of
//! which one it refused, so that a failure is named from what the host decided rather than
//! from how wasmtime worded the error it passed on.

use wasmtime::{format_err, ResourceLimiter};

use crate::engine::Limits;

/// Which limit the limiter refused.
///
/// There is no variant for the instance, memory and table counts: wasmtime reads those from
/// the limiter once, when it is installed, and refuses an instantiation over them itself,
/// without calling the limiter, so the limiter never learns of such a refusal. They cannot
/// be reached anyway: the pooling allocator holds the same counts per component and refuses
/// a component over them when it is loaded, before any store exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A linear memory would have grown past the limit (or its own maximum), or growing it
    /// failed.
    Memory,
    /// A table would have grown past the limit (or its own maximum), or growing it failed.
    Table,
}

/// One store's limiter.
#[derive(Debug)]
pub(crate) struct SandboxLimiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
    memories: usize,
    tables: usize,
    refused: Option<Refusal>,
}

impl SandboxLimiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            memory_bytes: limits.max_memory_bytes,
            table_elements: limits.max_table_elements,
            instances: limits.max_core_instances_per_component as usize,
            memories: limits.max_memories_per_component as usize,
            tables: limits.max_tables_per_component as usize,
            refused: None,
        }
    }

    /// The first refusal in this store, if any.
    pub(crate) fn refused(&self) -> Option<Refusal> {
        self.refused
    }

    // Every refusal is an error, never a `false`: `memory.grow` and `table.grow` would
    // answer -1, which a guest may ignore and run on to fail somewhere less clear. The
    // error ends the call, so the first refusal is the one that counts.
    fn refuse(&mut self, refusal: Refusal, error: wasmtime::Error) -> wasmtime::Error {
        self.refused.get_or_insert(refusal);
        error
    }
}

fn within(desired: usize, limit: usize, maximum: Option<usize>) -> bool {
    desired <= limit && maximum.is_none_or(|max| desired <= max)
}

impl ResourceLimiter for SandboxLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if within(desired, self.memory_bytes, maximum) {
            return Ok(true);
        }
        Err(self.refuse(
            Refusal::Memory,
            format_err!("refused growing memory to {desired} bytes"),
        ))
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(self.refuse(Refusal::Memory, error.context("growing memory failed")))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if within(desired, self.table_elements, maximum) {
            return Ok(true);
        }
        Err(self.refuse(
            Refusal::Table,
            format_err!("refused growing a table to {desired} elements"),
        ))
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(self.refuse(Refusal::Table, error.context("growing a table failed")))
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.memories
    }

    fn tables(&self) -> usize {
        self.tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> SandboxLimiter {
        SandboxLimiter::new(&Limits::default())
    }

    const PAGE: usize = 64 << 10;

    #[test]
    fn growth_within_the_limits_is_allowed_and_leaves_no_record() {
        let mut limiter = limiter();
        let memory = Limits::default().max_memory_bytes;
        assert!(limiter.memory_growing(0, memory, None).unwrap());
        assert!(limiter
            .memory_growing(PAGE, 2 * PAGE, Some(2 * PAGE))
            .unwrap());
        let table = Limits::default().max_table_elements;
        assert!(limiter.table_growing(0, table, None).unwrap());
        assert_eq!(limiter.refused(), None);
    }

    #[test]
    fn memory_past_the_limit_is_refused_and_recorded() {
        let mut limiter = limiter();
        let memory = Limits::default().max_memory_bytes;
        assert!(limiter.memory_growing(memory, memory + PAGE, None).is_err());
        assert_eq!(limiter.refused(), Some(Refusal::Memory));
    }

    #[test]
    fn memory_past_its_own_maximum_is_refused_and_recorded() {
        let mut limiter = limiter();
        assert!(limiter.memory_growing(PAGE, 2 * PAGE, Some(PAGE)).is_err());
        assert_eq!(limiter.refused(), Some(Refusal::Memory));
    }

    #[test]
    fn table_past_the_limit_is_refused_and_recorded() {
        let mut limiter = limiter();
        let table = Limits::default().max_table_elements;
        assert!(limiter.table_growing(table, table + 1, None).is_err());
        assert_eq!(limiter.refused(), Some(Refusal::Table));
    }

    #[test]
    fn failed_growth_is_an_error_and_recorded() {
        let mut limiter = limiter();
        assert!(limiter.memory_grow_failed(format_err!("no room")).is_err());
        assert_eq!(limiter.refused(), Some(Refusal::Memory));
        let mut limiter = self::limiter();
        assert!(limiter.table_grow_failed(format_err!("no room")).is_err());
        assert_eq!(limiter.refused(), Some(Refusal::Table));
    }

    #[test]
    fn the_first_refusal_is_the_one_recorded() {
        let mut limiter = limiter();
        let table = Limits::default().max_table_elements;
        assert!(limiter.table_growing(table, table + 1, None).is_err());
        assert!(limiter.memory_grow_failed(format_err!("no room")).is_err());
        assert_eq!(limiter.refused(), Some(Refusal::Table));
    }

    #[test]
    fn counts_are_the_limits() {
        let limits = Limits::interpreted();
        let limiter = SandboxLimiter::new(&limits);
        assert_eq!(
            limiter.instances(),
            limits.max_core_instances_per_component as usize
        );
        assert_eq!(
            limiter.memories(),
            limits.max_memories_per_component as usize
        );
        assert_eq!(limiter.tables(), limits.max_tables_per_component as usize);
    }
}
