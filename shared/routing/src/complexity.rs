//! What the compiler is given. Cranelift's time grows with the size and shape of the code
//! (a few hundred thousand branches in one function kept it busy for minutes), and wasmtime
//! does not treat compile time as a security boundary, so an upload is measured by parsing,
//! which is linear and cheap, before anything is compiled. The limits sit far above what a
//! routing policy needs, the QuickJS engine of JavaScript policies included (its interpreter
//! loop is one large, deeply nested function); the compile budget catches what slips past.

use std::time::Duration;

use wasmparser::{Operator, Parser, Payload};

use crate::error::PluginError;

/// Upload-time limits on the code of a component, summed over all its core modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileLimits {
    /// Functions with a body.
    pub max_functions: u32,
    /// Bytes of code in the largest function body.
    pub max_function_body_bytes: u32,
    /// Locals declared by one function.
    pub max_locals_per_function: u32,
    /// Bytes of all code section entries.
    pub max_code_bytes: u64,
    /// Blocks, loops and ifs open at once in one function.
    pub max_nesting_depth: u32,
    /// Wall-clock time the compiler gets; past it the upload is refused.
    pub budget: Duration,
}

impl Default for CompileLimits {
    fn default() -> Self {
        Self {
            max_functions: 10_000,
            max_function_body_bytes: 512 << 10,
            max_locals_per_function: 20_000,
            max_code_bytes: 4 << 20,
            max_nesting_depth: 2_000,
            budget: Duration::from_secs(8),
        }
    }
}

/// What was measured, for reports and for choosing the limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeShape {
    pub functions: u32,
    pub code_bytes: u64,
    pub largest_function_body_bytes: u32,
    pub most_locals: u32,
    pub deepest_nesting: u32,
}

/// Measures every core module inside `bytes` (a component) and refuses, with the limit
/// named, the first measure that is over its limit. Malformed code is left to the
/// compiler's validation, which says better what is wrong.
pub fn check(bytes: &[u8], limits: &CompileLimits) -> Result<CodeShape, PluginError> {
    let mut shape = CodeShape::default();
    let too_complex = |what: &str, value: u64, limit: u64| PluginError::TooComplex {
        what: what.to_owned(),
        value,
        limit,
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return Ok(shape);
        };
        let Payload::CodeSectionEntry(body) = payload else {
            continue;
        };
        shape.functions += 1;
        if shape.functions > limits.max_functions {
            return Err(too_complex(
                "functions",
                shape.functions.into(),
                limits.max_functions.into(),
            ));
        }
        let body_bytes = body.range().len() as u32;
        shape.largest_function_body_bytes = shape.largest_function_body_bytes.max(body_bytes);
        if body_bytes > limits.max_function_body_bytes {
            return Err(too_complex(
                "bytes in one function body",
                body_bytes.into(),
                limits.max_function_body_bytes.into(),
            ));
        }
        shape.code_bytes += u64::from(body_bytes);
        if shape.code_bytes > limits.max_code_bytes {
            return Err(too_complex(
                "bytes of code",
                shape.code_bytes,
                limits.max_code_bytes,
            ));
        }

        let Ok(locals) = body.get_locals_reader() else {
            return Ok(shape);
        };
        let mut declared: u64 = 0;
        for entry in locals {
            let Ok((count, _)) = entry else {
                return Ok(shape);
            };
            declared += u64::from(count);
            if declared > u64::from(limits.max_locals_per_function) {
                return Err(too_complex(
                    "locals in one function",
                    declared,
                    limits.max_locals_per_function.into(),
                ));
            }
        }
        shape.most_locals = shape.most_locals.max(declared as u32);

        let Ok(mut operators) = body.get_operators_reader() else {
            return Ok(shape);
        };
        let mut depth: u32 = 0;
        while !operators.eof() {
            let Ok(operator) = operators.read() else {
                return Ok(shape);
            };
            match operator {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. } => {
                    depth += 1;
                    shape.deepest_nesting = shape.deepest_nesting.max(depth);
                    if depth > limits.max_nesting_depth {
                        return Err(too_complex(
                            "blocks nested in one function",
                            depth.into(),
                            limits.max_nesting_depth.into(),
                        ));
                    }
                }
                Operator::End => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(shape)
}
