//! `Validate` for the types generated code refers to but bia-build does not generate: `()`
//! (prost's `google.protobuf.Empty`) and the well-known types in `prost-types`. They carry no
//! rules of their own; the rules on a field of such a type live in the message that has it.

use super::{Path, Validate, Violations};

macro_rules! no_rules {
    ($($ty:ty),* $(,)?) => {
        $(
            impl Validate for $ty {
                fn validate(&self, _at: &Path<'_>, _violations: &mut Violations) {}
            }
        )*
    };
}

no_rules!(
    (),
    prost_types::Timestamp,
    prost_types::Duration,
    prost_types::Any,
    prost_types::FieldMask,
    prost_types::Struct,
    prost_types::Value,
    prost_types::ListValue,
    prost_types::Api,
    prost_types::Method,
    prost_types::Mixin,
    prost_types::Type,
    prost_types::Field,
    prost_types::Enum,
    prost_types::EnumValue,
    prost_types::Option,
    prost_types::SourceContext,
    prost_types::FileDescriptorSet,
    prost_types::FileDescriptorProto,
    prost_types::DescriptorProto,
    prost_types::FieldDescriptorProto,
    prost_types::EnumDescriptorProto,
    prost_types::ServiceDescriptorProto,
    prost_types::MethodDescriptorProto,
);
