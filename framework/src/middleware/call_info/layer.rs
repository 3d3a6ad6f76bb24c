//! The layer of [`CallInfoService`].

use std::sync::Arc;

use crate::impls::layer_wraps;

use super::CallInfoService;
use crate::middleware::method::MethodTable;

/// Applies [`CallInfoService`] for the methods of a [`MethodTable`].
///
/// ```
/// let table = bia::middleware::MethodTable::new(&[], std::iter::empty::<&str>()).unwrap();
/// let layer = bia::middleware::CallInfoLayer::new(table);
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct CallInfoLayer {
    table: Arc<MethodTable>,
}

impl CallInfoLayer {
    /// Labels calls with the methods of `table`.
    pub fn new(table: impl Into<Arc<MethodTable>>) -> Self {
        Self {
            table: table.into(),
        }
    }
}

layer_wraps!(CallInfoLayer => CallInfoService { table });
