//! CEL rules of `buf.validate` (`cel`, `cel_expression`), run by the
//! [`cel`](https://docs.rs/cel) crate (cel-rust).
//!
//! bia-build checks each expression's syntax when the service builds and writes one
//! `static` [`Program`] per expression, parsed on first use and kept for the life of the
//! process. Per call, the generated code makes `this` from the value the rule is on (a field's
//! value borrowed as a CEL value, or for a message rule a map of only the fields the
//! expression reads) and calls [`Program::check`], which records a violation when the
//! expression answers `false` or a non-empty string, as protovalidate does.
//!
//! Besides standard CEL, the expressions can call protovalidate's own functions: `isEmail`,
//! `isHostname`, `isIp`, `isIpPrefix`, `isUri`, `isUriRef`, `isHostAndPort`, `unique`,
//! `isNan` and `isInf`, and read `now` (the time of the check).
//!
//! ```
//! use bia::validate::cel::{Program, ToCel};
//! use bia::validate::{Path, Violations};
//!
//! static NAME: std::sync::LazyLock<Program> =
//!     std::sync::LazyLock::new(|| Program::new("this.isEmail() && this.endsWith('.org')"));
//!
//! let mut violations = Violations::new();
//! let at = Path::ROOT.field("email");
//! NAME.check(&"bob@example.org".to_owned().to_cel(), &at, "email.org", "must be an .org address", &mut violations);
//! assert!(violations.is_empty());
//! NAME.check(&"bob@example.com".to_owned().to_cel(), &at, "email.org", "must be an .org address", &mut violations);
//! assert_eq!(violations.iter().next().unwrap().message, "must be an .org address");
//! ```

mod functions;
mod value;

use std::sync::{Arc, LazyLock};

use cel::common::types::{CelBool, CelString, CelTimestamp};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env};

use super::{Path, Violations};

pub use value::{CelValue, ToCel, ToCelKey, message, some};

/// The environment every program runs in: standard CEL and protovalidate's functions.
static ENV: LazyLock<Result<Arc<Env>, String>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    functions::declare(&mut env)
        .map(|()| Arc::new(env))
        .map_err(|e| format!("bia could not declare protovalidate's CEL functions: {e}"))
});

/// One CEL expression, parsed once.
#[derive(Debug)]
pub struct Program {
    source: &'static str,
    parsed: Result<cel::Program, String>,
}

impl Program {
    /// Parses `source`. bia-build has parsed it already, so this fails only if the crate's
    /// parser changed in between; the failure is then answered at every check, never a panic.
    pub fn new(source: &'static str) -> Self {
        let parsed = match &*ENV {
            Ok(env) => env.compile(source).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        Self { source, parsed }
    }

    /// The expression's text.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Runs the expression with `this` bound to `this`, and records at `at` a violation of
    /// rule `id` when it answers `false` (with `message`, or the expression when that is
    /// empty) or a non-empty string (with `message`, or that string when it is empty).
    ///
    /// An expression that fails (a type error, no matching overload, reading a field that is
    /// not set) is a violation too, whose message says so: the request is refused with
    /// INVALID_ARGUMENT rather than let through, and a warning is logged, since the rule
    /// itself may be wrong.
    pub fn check(
        &self,
        this: &CelValue<'_>,
        at: &Path<'_>,
        id: &'static str,
        message: &'static str,
        violations: &mut Violations,
    ) {
        let failure = match self.run(this.as_ref()) {
            Ok(Outcome::Pass) => return,
            Ok(Outcome::Fail(None)) if message.is_empty() => {
                violations.push(at, id, self.source);
                return;
            }
            Ok(Outcome::Fail(Some(text))) if message.is_empty() => {
                violations.push(at, id, text);
                return;
            }
            Ok(Outcome::Fail(_)) => {
                violations.add(at, id, message);
                return;
            }
            Err(failure) => failure,
        };
        tracing::warn!(
            rule = id,
            field = %at,
            expression = self.source,
            error = %failure,
            "a CEL validation rule failed to evaluate; the request is refused"
        );
        violations.push(
            at,
            id,
            format!("the rule's CEL expression could not be evaluated: {failure}"),
        );
    }

    fn run(&self, this: &dyn Val) -> Result<Outcome, String> {
        let program = self.parsed.as_ref()?;
        let env = ENV.as_ref()?;
        let vars = Variables { this };
        let mut context = Context::with_env(Arc::clone(env));
        context.set_variable_resolver(&vars);
        let result =
            cel::Value::resolve_val(program.expression(), &context).map_err(|e| e.to_string())?;
        if let Some(pass) = result.downcast_ref::<CelBool>() {
            return Ok(if *pass.inner() {
                Outcome::Pass
            } else {
                Outcome::Fail(None)
            });
        }
        if let Some(text) = result.downcast_ref::<CelString>() {
            return Ok(if text.inner().is_empty() {
                Outcome::Pass
            } else {
                Outcome::Fail(Some(text.inner().to_owned()))
            });
        }
        Err(format!(
            "it answered a value of type `{}`; a rule must answer a bool or a string",
            result.get_type().name()
        ))
    }
}

enum Outcome {
    Pass,
    /// Failed, with the text the expression answered, if any.
    Fail(Option<String>),
}

/// The variables a rule reads: `this` and `now`.
struct Variables<'a> {
    this: &'a dyn Val,
}

impl VariableResolver for Variables<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        match variable {
            "this" => Some(CowVal::Borrowed(self.this)),
            "now" => Some(CowVal::owned(CelTimestamp::from(
                chrono::Utc::now().fixed_offset(),
            ))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
