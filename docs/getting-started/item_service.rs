//! Handlers of `catalog.v1.ItemService` (proto/catalog/v1/item.proto).
//!
//! Every method answers UNIMPLEMENTED until you write it: take what you need from the
//! request, call `crate::biz`, and build the response.

use tonic::{Request, Response, Status};

use crate::pb::catalog::v1 as pb;

/// Manages items.
///
/// Implements `catalog.v1.ItemService`.
// ANCHOR: state
#[derive(Debug, Default, Clone)]
pub struct ItemService {
    // For this first try only: a real service keeps its items in `crate::data`.
    items: std::sync::Arc<std::sync::Mutex<Vec<pb::Item>>>,
}

impl ItemService {
    /// Handlers over the use cases of `crate::biz`.
    pub fn new(_use_cases: &crate::biz::UseCases) -> Self {
        Self::default()
    }
}
// ANCHOR_END: state

#[tonic::async_trait]
impl pb::item_service_server::ItemService for ItemService {
    // ANCHOR: methods
    /// Creates a item.
    async fn create_item(
        &self,
        request: Request<pb::CreateItemRequest>,
    ) -> Result<Response<pb::Item>, Status> {
        // The proto's rules already refused a request without an item (`required`).
        let name = request.into_inner().item.unwrap_or_default().name;
        if name.trim().is_empty() {
            return Err(
                bia::Error::invalid_argument("NAME_REQUIRED", "give the item a name")
                    .with_field_violation("item.name", "must not be empty")
                    .into(),
            );
        }
        let mut items = self.items.lock().unwrap();
        let item = pb::Item {
            id: format!("item-{}", items.len() + 1),
            name,
        };
        items.push(item.clone());
        tracing::info!(id = %item.id, "item created");
        Ok(Response::new(item))
    }

    /// Gets a item by id.
    async fn get_item(
        &self,
        request: Request<pb::GetItemRequest>,
    ) -> Result<Response<pb::Item>, Status> {
        let id = request.into_inner().id;
        let items = self.items.lock().unwrap();
        match items.iter().find(|item| item.id == id) {
            Some(item) => Ok(Response::new(item.clone())),
            // ANCHOR: not_found
            // The code (NOT_FOUND), the reason and the domain come from the proto's
            // ItemErrorReason.
            None => Err(pb::ItemErrorReason::ItemNotFound
                .error(format!("no item {id:?}"))
                .with_metadata("id", id)
                .into()),
            // ANCHOR_END: not_found
        }
    }

    // ANCHOR_END: methods
    /// Lists items, a page at a time.
    async fn list_items(
        &self,
        _request: Request<pb::ListItemsRequest>,
    ) -> Result<Response<pb::ListItemsResponse>, Status> {
        Err(Status::unimplemented(
            "ItemService/ListItems is not implemented yet",
        ))
    }

    /// Updates a item.
    async fn update_item(
        &self,
        _request: Request<pb::UpdateItemRequest>,
    ) -> Result<Response<pb::Item>, Status> {
        Err(Status::unimplemented(
            "ItemService/UpdateItem is not implemented yet",
        ))
    }

    /// Deletes a item.
    async fn delete_item(
        &self,
        _request: Request<pb::DeleteItemRequest>,
    ) -> Result<Response<pb::DeleteItemResponse>, Status> {
        Err(Status::unimplemented(
            "ItemService/DeleteItem is not implemented yet",
        ))
    }
}
