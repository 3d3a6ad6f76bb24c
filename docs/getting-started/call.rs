//! Calls a running catalog: `cargo run --example call`.

use catalog::pb::catalog::v1::item_service_client::ItemServiceClient;
use catalog::pb::catalog::v1::{CreateItemRequest, GetItemRequest, Item};

#[tokio::main]
async fn main() -> Result<(), bia::BoxError> {
    let mut items = ItemServiceClient::connect("http://127.0.0.1:9000").await?;

    let created = items
        .create_item(CreateItemRequest {
            item: Some(Item {
                name: "Green tea".into(),
                ..Default::default()
            }),
        })
        .await?;
    println!("created: {:?}", created.get_ref());

    let id = created.into_inner().id;
    let found = items.get_item(GetItemRequest { id }).await?;
    println!("found:   {:?}", found.get_ref());

    let status = items
        .get_item(GetItemRequest {
            id: "item-42".into(),
        })
        .await
        .unwrap_err();
    let error = bia::Error::from(status); // the status with its google.rpc.ErrorInfo
    println!(
        "error:   {error} (reason {}, metadata {:?})",
        error.reason(),
        error.metadata()
    );
    Ok(())
}
