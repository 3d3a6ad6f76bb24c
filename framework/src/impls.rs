//! Impls that many of Bia's types share, written once: a layer that wraps its service beside
//! clones of its fields, a middleware's access to the service it wraps (as tower's own
//! middleware has), and a `Debug` that shows a few fields and elides the rest.

/// Implements [`tower_layer::Layer`] for `$layer`, whose service is
/// `$service { inner, $field: self.$field.clone(), .. }` (or `$field: self.$from.clone()`,
/// written `$field: $from`).
///
/// Most of Bia's layers keep what their calls share behind an `Arc` and give each service a
/// clone of it; this writes that impl once.
macro_rules! layer_wraps {
    ($layer:ty => $service:ident { $($field:ident $(: $from:ident)?),+ $(,)? }) => {
        impl<S> tower_layer::Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service {
                    inner,
                    $($field: $crate::impls::layer_field!(self, $field $(, $from)?)),+
                }
            }
        }
    };
}

/// A clone of the layer's field for [`layer_wraps`]: the one named like the service's, or
/// the one named after it.
macro_rules! layer_field {
    ($layer:expr, $field:ident) => {
        ::core::clone::Clone::clone(&$layer.$field)
    };
    ($layer:expr, $field:ident, $from:ident) => {
        ::core::clone::Clone::clone(&$layer.$from)
    };
}

/// Implements `Debug` for `$name` (or `$name<S>`, with `S: Debug`) showing only the named
/// fields: the rest are shared state or secrets, elided as `..`.
macro_rules! debug_shows {
    ($name:ident<S> { $($field:ident),* }) => {
        impl<S: ::std::fmt::Debug> ::std::fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
    ($name:ident { $($field:ident),* }) => {
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

/// Gives a middleware `$name<S, ..>` whose wrapped service is its field `inner` the accessors
/// tower's own middleware has: `get_ref`, `get_mut` and `into_inner`.
macro_rules! wraps_inner {
    ($name:ident<S $(, $param:ident)*>) => {
        impl<S $(, $param)*> $name<S $(, $param)*> {
            /// The wrapped service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The wrapped service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}

pub(crate) use {debug_shows, layer_field, layer_wraps, wraps_inner};
