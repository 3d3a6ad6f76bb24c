//! protovalidate's own CEL functions (`isEmail`, `isIp`, `unique`, ...), answered by the same
//! format checks as the generated rules (`super::super::formats`), so `this.isEmail()` and
//! `string.email = true` never disagree.

use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelString};
use cel::{DeclarationError, Env, add_member_overload};

use crate::validate::formats;

/// Declares the functions on `env`.
pub(super) fn declare(env: &mut Env) -> Result<(), DeclarationError> {
    add_member_overload!(env, fn is_email: (CelString) -> CelBool)?;
    add_member_overload!(env, fn is_hostname: (CelString) -> CelBool)?;
    add_member_overload!(env, fn is_ip: (CelString) -> CelBool)?;
    add_member_overload!(env, fn is_ip_version: (CelString, CelInt) -> CelBool, name = "isIp")?;
    add_member_overload!(env, fn is_ip_prefix: (CelString) -> CelBool)?;
    add_member_overload!(env, fn is_ip_prefix_version: (CelString, CelInt) -> CelBool,
        name = "isIpPrefix")?;
    add_member_overload!(env, fn is_ip_prefix_strict: (CelString, CelBool) -> CelBool,
        name = "isIpPrefix")?;
    add_member_overload!(env, fn is_ip_prefix_version_strict: (CelString, CelInt, CelBool) -> CelBool,
        name = "isIpPrefix")?;
    add_member_overload!(env, fn is_uri: (CelString) -> CelBool)?;
    add_member_overload!(env, fn is_uri_ref: (CelString) -> CelBool)?;
    add_member_overload!(env, fn is_host_and_port: (CelString, CelBool) -> CelBool)?;
    add_member_overload!(env, fn unique: (CelList) -> CelBool)?;
    add_member_overload!(env, fn is_nan: (CelDouble) -> CelBool)?;
    add_member_overload!(env, fn is_inf: (CelDouble) -> CelBool)?;
    add_member_overload!(env, fn is_inf_sign: (CelDouble, CelInt) -> CelBool, name = "isInf")?;
    Ok(())
}

/// An IP version argument: 0 (either), 4 or 6; any other version matches nothing.
fn version(v: &CelInt) -> Option<u8> {
    match *v.inner() {
        v @ (0 | 4 | 6) => Some(v as u8),
        _ => None,
    }
}

fn is_email(s: &CelString<'_>) -> CelBool {
    formats::is_email(s.inner()).into()
}

fn is_hostname(s: &CelString<'_>) -> CelBool {
    formats::is_hostname(s.inner()).into()
}

fn is_ip(s: &CelString<'_>) -> CelBool {
    formats::is_ip(s.inner(), 0).into()
}

fn is_ip_version(s: &CelString<'_>, v: &CelInt) -> CelBool {
    version(v)
        .is_some_and(|v| formats::is_ip(s.inner(), v))
        .into()
}

fn is_ip_prefix(s: &CelString<'_>) -> CelBool {
    formats::is_ip_prefix(s.inner(), 0, false).into()
}

fn is_ip_prefix_version(s: &CelString<'_>, v: &CelInt) -> CelBool {
    version(v)
        .is_some_and(|v| formats::is_ip_prefix(s.inner(), v, false))
        .into()
}

fn is_ip_prefix_strict(s: &CelString<'_>, strict: &CelBool) -> CelBool {
    formats::is_ip_prefix(s.inner(), 0, *strict.inner()).into()
}

fn is_ip_prefix_version_strict(s: &CelString<'_>, v: &CelInt, strict: &CelBool) -> CelBool {
    version(v)
        .is_some_and(|v| formats::is_ip_prefix(s.inner(), v, *strict.inner()))
        .into()
}

fn is_uri(s: &CelString<'_>) -> CelBool {
    formats::is_uri(s.inner()).into()
}

fn is_uri_ref(s: &CelString<'_>) -> CelBool {
    formats::is_uri_ref(s.inner()).into()
}

fn is_host_and_port(s: &CelString<'_>, port_required: &CelBool) -> CelBool {
    formats::is_host_and_port(s.inner(), *port_required.inner()).into()
}

/// Whether no two items of a list are equal (CEL equality, so `1` and `1u` are equal).
fn unique(list: &CelList<'_>) -> CelBool {
    let items = list.inner();
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items[i + 1..].iter().all(|b| !a.equals(b.as_ref())))
        .into()
}

fn is_nan(x: &CelDouble) -> CelBool {
    x.inner().is_nan().into()
}

fn is_inf(x: &CelDouble) -> CelBool {
    x.inner().is_infinite().into()
}

/// `isInf(1)` only `+∞`, `isInf(-1)` only `-∞`, `isInf(0)` either.
fn is_inf_sign(x: &CelDouble, sign: &CelInt) -> CelBool {
    let x = *x.inner();
    let sign = *sign.inner();
    (x.is_infinite() && (sign == 0 || (sign > 0) == (x > 0.0))).into()
}
