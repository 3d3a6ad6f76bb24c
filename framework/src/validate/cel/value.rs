//! Proto values as CEL values, borrowed from the message: a string field becomes a CEL
//! string that points into the message, so converting `this` copies no text or bytes.

use std::collections::{BTreeMap, HashMap};

use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelDuration, CelInt, CelList, CelMap, CelMapKey, CelNull,
    CelString, CelTimestamp, CelUInt,
};
use cel::common::value::Val;

/// A CEL value, possibly borrowing from the message it was made from.
pub type CelValue<'a> = Box<dyn Val + 'a>;

/// A value that CEL rules can read as `this` (or as a field of `this`), with proto3's
/// mapping: integers as `int`/`uint`, floats as `double`, enums as `int`, repeated fields as
/// lists, maps as maps, messages as maps from field name to value, `Timestamp` and `Duration`
/// as CEL's own types.
///
/// bia-build implements it for every generated message when a proto in the build has CEL
/// rules; it is public so that generated code in other crates can reach it.
///
/// ```
/// use bia::validate::cel::ToCel;
/// let value = "hello".to_owned();
/// assert_eq!(value.to_cel().get_type().name(), "string");
/// ```
pub trait ToCel {
    /// This value as CEL sees it.
    fn to_cel(&self) -> CelValue<'_>;
}

macro_rules! scalar {
    ($($ty:ty => $cel:ident as $as:ty),* $(,)?) => {
        $(
            impl ToCel for $ty {
                fn to_cel(&self) -> CelValue<'_> {
                    Box::new($cel::from(<$as>::from(*self)))
                }
            }
        )*
    };
}

scalar!(
    i32 => CelInt as i64,
    i64 => CelInt as i64,
    u32 => CelUInt as u64,
    u64 => CelUInt as u64,
    f32 => CelDouble as f64,
    f64 => CelDouble as f64,
    bool => CelBool as bool,
);

impl ToCel for String {
    fn to_cel(&self) -> CelValue<'_> {
        Box::new(CelString::from(self.as_str()))
    }
}

impl ToCel for str {
    fn to_cel(&self) -> CelValue<'_> {
        Box::new(CelString::from(self))
    }
}

/// `bytes` fields, as prost generates them by default.
impl ToCel for Vec<u8> {
    fn to_cel(&self) -> CelValue<'_> {
        Box::new(CelBytes::from(self.as_slice()))
    }
}

/// `bytes` fields that prost was configured to generate as `Bytes`.
impl ToCel for prost::bytes::Bytes {
    fn to_cel(&self) -> CelValue<'_> {
        Box::new(CelBytes::from(&self[..]))
    }
}

impl<T: ToCel> ToCel for Vec<T> {
    fn to_cel(&self) -> CelValue<'_> {
        list(self.iter())
    }
}

impl<T: ToCel + ?Sized> ToCel for Box<T> {
    fn to_cel(&self) -> CelValue<'_> {
        (**self).to_cel()
    }
}

/// An unset wrapper (`google.protobuf.StringValue`, ...) is `null`, as in protovalidate.
impl<T: ToCel> ToCel for Option<T> {
    fn to_cel(&self) -> CelValue<'_> {
        match self {
            Some(value) => value.to_cel(),
            None => Box::new(CelNull),
        }
    }
}

impl<K: ToCelKey, V: ToCel, S> ToCel for HashMap<K, V, S> {
    fn to_cel(&self) -> CelValue<'_> {
        map(self.iter())
    }
}

impl<K: ToCelKey, V: ToCel> ToCel for BTreeMap<K, V> {
    fn to_cel(&self) -> CelValue<'_> {
        map(self.iter())
    }
}

fn list<'a, T: ToCel + 'a>(items: impl Iterator<Item = &'a T>) -> CelValue<'a> {
    Box::new(CelList::from(items.map(ToCel::to_cel).collect::<Vec<_>>()))
}

fn map<'a, K: ToCelKey + 'a, V: ToCel + 'a>(
    entries: impl ExactSizeIterator<Item = (&'a K, &'a V)>,
) -> CelValue<'a> {
    let mut out = HashMap::with_capacity(entries.len());
    for (k, v) in entries {
        out.insert(k.to_cel_key(), v.to_cel());
    }
    Box::new(CelMap::from(out))
}

/// A proto map key as a CEL map key.
pub trait ToCelKey {
    /// This key as CEL sees it.
    fn to_cel_key(&self) -> CelMapKey<'_>;
}

impl ToCelKey for String {
    fn to_cel_key(&self) -> CelMapKey<'_> {
        CelMapKey::from(self.as_str())
    }
}

macro_rules! key {
    ($($ty:ty as $as:ty),* $(,)?) => {
        $(
            impl ToCelKey for $ty {
                fn to_cel_key(&self) -> CelMapKey<'_> {
                    CelMapKey::from(<$as>::from(*self))
                }
            }
        )*
    };
}

key!(i32 as i64, i64 as i64, u32 as u64, u64 as u64, bool as bool);

/// A message as a CEL map from its field names to their values; a field whose value is
/// `None` (unset, so `has(this.field)` is false) is left out. The names are `&'static str`
/// from the generated code, so no key is allocated.
pub fn message<'a, const N: usize>(
    fields: [(&'static str, Option<CelValue<'a>>); N],
) -> CelValue<'a> {
    let mut out = HashMap::with_capacity(N);
    for (name, value) in fields {
        if let Some(value) = value {
            out.insert(CelMapKey::from(name), value);
        }
    }
    Box::new(CelMap::from(out))
}

/// `Some(value as CEL)`: the value of a field that is always present.
pub fn some<T: ToCel + ?Sized>(value: &T) -> Option<CelValue<'_>> {
    Some(value.to_cel())
}

/// A `Timestamp` as a CEL timestamp (UTC); one outside chrono's range is `null`.
impl ToCel for prost_types::Timestamp {
    fn to_cel(&self) -> CelValue<'_> {
        let nanos = u32::try_from(self.nanos).ok();
        match nanos.and_then(|n| chrono::DateTime::from_timestamp(self.seconds, n)) {
            Some(t) => Box::new(CelTimestamp::from(t.fixed_offset())),
            None => Box::new(CelNull),
        }
    }
}

/// A `Duration` as a CEL duration; one outside chrono's range is `null`.
impl ToCel for prost_types::Duration {
    fn to_cel(&self) -> CelValue<'_> {
        let d = chrono::TimeDelta::try_seconds(self.seconds)
            .and_then(|s| s.checked_add(&chrono::TimeDelta::nanoseconds(self.nanos.into())));
        match d {
            Some(d) => Box::new(CelDuration::from(d)),
            None => Box::new(CelNull),
        }
    }
}

/// `google.protobuf.Empty`, which prost generates as `()`.
impl ToCel for () {
    fn to_cel(&self) -> CelValue<'_> {
        message([])
    }
}

impl ToCel for prost_types::Any {
    fn to_cel(&self) -> CelValue<'_> {
        message([
            ("type_url", some(&self.type_url)),
            ("value", some(&self.value)),
        ])
    }
}

impl ToCel for prost_types::FieldMask {
    fn to_cel(&self) -> CelValue<'_> {
        message([("paths", some(&self.paths))])
    }
}

/// `google.protobuf.Struct` as the JSON object it stands for, as CEL defines it.
impl ToCel for prost_types::Struct {
    fn to_cel(&self) -> CelValue<'_> {
        self.fields.to_cel()
    }
}

impl ToCel for prost_types::ListValue {
    fn to_cel(&self) -> CelValue<'_> {
        self.values.to_cel()
    }
}

impl ToCel for prost_types::Value {
    fn to_cel(&self) -> CelValue<'_> {
        use prost_types::value::Kind;
        match &self.kind {
            None | Some(Kind::NullValue(_)) => Box::new(CelNull),
            Some(Kind::NumberValue(n)) => n.to_cel(),
            Some(Kind::StringValue(s)) => s.to_cel(),
            Some(Kind::BoolValue(b)) => b.to_cel(),
            Some(Kind::StructValue(s)) => s.to_cel(),
            Some(Kind::ListValue(l)) => l.to_cel(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_values_take_their_cel_types() {
        let name = |v: &CelValue<'_>| v.get_type().name().to_owned();
        assert_eq!(name(&5i32.to_cel()), "int");
        assert_eq!(name(&5u64.to_cel()), "uint");
        assert_eq!(name(&1.5f32.to_cel()), "double");
        assert_eq!(name(&vec![1u8, 2].to_cel()), "bytes");
        assert_eq!(name(&vec![1i64].to_cel()), "list");
        assert_eq!(name(&HashMap::from([(1u32, true)]).to_cel()), "map");
        assert_eq!(name(&None::<String>.to_cel()), "null_type");
        let at = prost_types::Timestamp {
            seconds: 1,
            nanos: 5,
        };
        assert_eq!(name(&at.to_cel()), "google.protobuf.Timestamp");
        let d = prost_types::Duration {
            seconds: 1,
            nanos: 0,
        };
        assert_eq!(name(&d.to_cel()), "google.protobuf.Duration");
    }
}
