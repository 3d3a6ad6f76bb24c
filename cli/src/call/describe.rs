//! `list` and `describe`: services, methods, messages and enums written the way a .proto file
//! declares them, with their comments.

use std::fmt::Write as _;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind,
    MessageDescriptor, MethodDescriptor, ServiceDescriptor,
};

use super::error::{CallError, Result};

/// The methods of `service`, one `pkg.Service/Method` a line: what `bia call` takes.
pub(crate) fn methods(pool: &DescriptorPool, service: &str) -> Result<String> {
    let service = pool
        .get_service_by_name(service)
        .ok_or_else(|| not_found(pool, service))?;
    let mut out = String::new();
    for method in service.methods() {
        let _ = writeln!(out, "{}/{}", service.full_name(), method.name());
    }
    Ok(out)
}

/// `symbol` (a service, `pkg.Service/Method` or `pkg.Service.Method`, message or enum) as
/// .proto source.
pub(crate) fn describe(pool: &DescriptorPool, symbol: &str) -> Result<String> {
    let name = symbol.replace('/', ".");
    let mut out = String::new();
    if let Some(service) = pool.get_service_by_name(&name) {
        let _ = writeln!(out, "{} is a service:", service.full_name());
        service_text(&service, &mut out);
    } else if let Some(method) = method(pool, &name) {
        let _ = writeln!(out, "{} is a method:", method.full_name());
        method_text(&method, "", &mut out);
    } else if let Some(message) = pool.get_message_by_name(&name) {
        let _ = writeln!(out, "{} is a message:", message.full_name());
        message_text(&message, "", &mut out);
    } else if let Some(enumeration) = pool.get_enum_by_name(&name) {
        let _ = writeln!(out, "{} is an enum:", enumeration.full_name());
        enum_text(&enumeration, "", &mut out);
    } else {
        return Err(not_found(pool, symbol));
    }
    Ok(out)
}

/// The method `pkg.Service.Method`.
pub(crate) fn method(pool: &DescriptorPool, name: &str) -> Option<MethodDescriptor> {
    let (service, method) = name.rsplit_once('.')?;
    pool.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

fn not_found(pool: &DescriptorPool, symbol: &str) -> CallError {
    let services: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
    let services = if services.is_empty() {
        "none".to_owned()
    } else {
        services.join(", ")
    };
    CallError::NotFound(format!(
        "`{symbol}` is not in the descriptors; the services there: {services}\nhint: names are \
         fully qualified (`pkg.Service`, `pkg.Service/Method`, `pkg.Message`)"
    ))
}

fn service_text(service: &ServiceDescriptor, out: &mut String) {
    comments(&service.parent_file(), service.path(), "", out);
    let _ = writeln!(out, "service {} {{", service.name());
    for method in service.methods() {
        method_text(&method, "  ", out);
    }
    out.push_str("}\n");
}

fn method_text(method: &MethodDescriptor, indent: &str, out: &mut String) {
    comments(&method.parent_file(), method.path(), indent, out);
    let stream = |yes: bool| if yes { "stream " } else { "" };
    let _ = writeln!(
        out,
        "{indent}rpc {}({}{}) returns ({}{});",
        method.name(),
        stream(method.is_client_streaming()),
        method.input().full_name(),
        stream(method.is_server_streaming()),
        method.output().full_name()
    );
}

fn message_text(message: &MessageDescriptor, indent: &str, out: &mut String) {
    comments(&message.parent_file(), message.path(), indent, out);
    let _ = writeln!(out, "{indent}message {} {{", message.name());
    let inner = format!("{indent}  ");
    let mut open_oneof: Option<String> = None;
    for field in message.fields() {
        let oneof = field
            .containing_oneof()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_owned());
        if open_oneof != oneof {
            if open_oneof.take().is_some() {
                let _ = writeln!(out, "{inner}}}");
            }
            if let Some(name) = &oneof {
                let _ = writeln!(out, "{inner}oneof {name} {{");
            }
            open_oneof = oneof;
        }
        let field_indent = if open_oneof.is_some() {
            format!("{inner}  ")
        } else {
            inner.clone()
        };
        field_text(&field, &field_indent, out);
    }
    if open_oneof.is_some() {
        let _ = writeln!(out, "{inner}}}");
    }
    for child in message.child_messages().filter(|m| !m.is_map_entry()) {
        message_text(&child, &inner, out);
    }
    for child in message.child_enums() {
        enum_text(&child, &inner, out);
    }
    let _ = writeln!(out, "{indent}}}");
}

fn field_text(field: &FieldDescriptor, indent: &str, out: &mut String) {
    comments(&field.parent_file(), field.path(), indent, out);
    let label = if field.is_map() || field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
        ""
    } else if field.is_list() {
        "repeated "
    } else if field.field_descriptor_proto().proto3_optional() {
        "optional "
    } else if field.cardinality() == Cardinality::Required {
        "required "
    } else {
        ""
    };
    let kind = match field.kind() {
        Kind::Message(entry) if field.is_map() => format!(
            "map<{}, {}>",
            kind_name(&entry.map_entry_key_field().kind()),
            kind_name(&entry.map_entry_value_field().kind())
        ),
        kind => kind_name(&kind),
    };
    let _ = writeln!(
        out,
        "{indent}{label}{kind} {} = {};",
        field.name(),
        field.number()
    );
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

fn enum_text(enumeration: &EnumDescriptor, indent: &str, out: &mut String) {
    comments(&enumeration.parent_file(), enumeration.path(), indent, out);
    let _ = writeln!(out, "{indent}enum {} {{", enumeration.name());
    for value in enumeration.values() {
        comments(
            &enumeration.parent_file(),
            value.path(),
            &format!("{indent}  "),
            out,
        );
        let _ = writeln!(out, "{indent}  {} = {};", value.name(), value.number());
    }
    let _ = writeln!(out, "{indent}}}");
}

/// The leading comments of the element at `path` in `file`, as `//` lines.
fn comments(file: &FileDescriptor, path: &[i32], indent: &str, out: &mut String) {
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return;
    };
    let Some(text) = info
        .location
        .iter()
        .find(|l| l.path == path)
        .and_then(|l| l.leading_comments.as_deref())
    else {
        return;
    };
    for line in text.trim_end().lines() {
        let _ = writeln!(out, "{indent}//{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        let fds = protox::compile(["describe.proto"], ["src/call/testdata"]).unwrap();
        DescriptorPool::from_file_descriptor_set(fds).unwrap()
    }

    #[test]
    fn a_service_is_written_as_proto_with_comments_and_streams() {
        let text = describe(&pool(), "shop.v1.Shop").unwrap();
        assert_eq!(
            text,
            "shop.v1.Shop is a service:\n\
             // The shop.\n\
             service Shop {\n  \
               // Looks one up.\n  \
               rpc Get(shop.v1.Item) returns (shop.v1.Item);\n  \
               rpc Watch(shop.v1.Item) returns (stream shop.v1.Item);\n  \
               rpc Trade(stream shop.v1.Item) returns (stream shop.v1.Item);\n\
             }\n"
        );
        assert_eq!(
            describe(&pool(), "shop.v1.Shop/Watch").unwrap(),
            "shop.v1.Shop.Watch is a method:\nrpc Watch(shop.v1.Item) returns (stream shop.v1.Item);\n"
        );
        assert_eq!(
            methods(&pool(), "shop.v1.Shop").unwrap(),
            "shop.v1.Shop/Get\nshop.v1.Shop/Watch\nshop.v1.Shop/Trade\n"
        );
    }

    #[test]
    fn a_message_shows_labels_maps_oneofs_and_nested_types() {
        let text = describe(&pool(), "shop.v1.Item").unwrap();
        assert_eq!(
            text,
            "shop.v1.Item is a message:\n\
             message Item {\n  \
               string id = 1;\n  \
               repeated string tags = 2;\n  \
               map<string, int64> stock = 3;\n  \
               optional shop.v1.Item.Color color = 4;\n  \
               oneof price {\n    \
                 int64 cents = 5;\n    \
                 string free = 6;\n  \
               }\n  \
               enum Color {\n    \
                 COLOR_UNSPECIFIED = 0;\n    \
                 // Like the sky.\n    \
                 BLUE = 1;\n  \
               }\n\
             }\n"
        );
    }

    #[test]
    fn an_unknown_symbol_lists_the_services() {
        let err = describe(&pool(), "shop.v1.Nope").unwrap_err().to_string();
        assert!(
            err.contains("`shop.v1.Nope` is not in the descriptors"),
            "{err}"
        );
        assert!(err.contains("the services there: shop.v1.Shop"), "{err}");
    }
}
