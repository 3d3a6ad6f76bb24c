//! The `impl Layer` that most of Bia's layers share: wrap the inner service beside clones of
//! the layer's fields.

/// Implements [`tower_layer::Layer`] for `$layer`, whose service is
/// `$service { inner, $field: self.$field.clone(), .. }`.
///
/// Most of Bia's layers keep what their calls share behind an `Arc` and give each service a
/// clone of it; this writes that impl once.
macro_rules! layer_wraps {
    ($layer:ty => $service:ident { $($field:ident),+ $(,)? }) => {
        impl<S> tower_layer::Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service {
                    inner,
                    $($field: ::core::clone::Clone::clone(&self.$field)),+
                }
            }
        }
    };
}

pub(crate) use layer_wraps;
