//! `gateway.v1.Library` (proto/gateway/v1/library.proto): its generated code and the one handler
//! that the REST gateway and OpenAPI tests and the gateway's cost example serve. Kept out of
//! `support` so that only they compile it.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use pb::library_server::Library;
use pb::*;

#[allow(unreachable_pub, dead_code)]
pub mod pb {
    tonic::include_proto!("gateway.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/gateway_descriptor.bin"));
}

/// The service: answers from what it was sent, so the tests see what the gateway made of a
/// request, and answers GetBook with a book of every field kind the JSON mapping treats specially
/// (64-bit integers, enums, timestamps, repeated and nested fields).
#[derive(Clone, Default)]
pub(crate) struct Shelf;

pub(crate) type BookStream = Pin<Box<dyn Stream<Item = Result<Book, Status>> + Send>>;

#[tonic::async_trait]
impl Library for Shelf {
    async fn get_book(&self, request: Request<GetBookRequest>) -> Result<Response<Book>, Status> {
        let echo_id = request.metadata().get("x-request-id").cloned();
        let name = request.into_inner().name;
        if name.ends_with("/missing") {
            return Err(
                bia::Error::not_found("BOOK_NOT_FOUND", format!("no book {name}"))
                    .with_domain("library.test")
                    .with_metadata("name", name)
                    .into(),
            );
        }
        let mut response = Response::new(Book {
            id: "b1".into(),
            name,
            title: "Dune".into(),
            genre: Genre::Fiction as i32,
            pages: 9_007_199_254_740_993,
            tags: vec!["sand".into(), "spice".into()],
            published: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 500_000_000,
            }),
            author: Some(Author {
                id: "a1".into(),
                display_name: "Frank Herbert".into(),
            }),
        });
        if let Some(id) = echo_id {
            response.metadata_mut().insert("x-echo-id", id);
        }
        Ok(response)
    }

    async fn create_book(
        &self,
        request: Request<CreateBookRequest>,
    ) -> Result<Response<Book>, Status> {
        let request = request.into_inner();
        let mut book = request.book.unwrap_or_default();
        if book.title == "dup" {
            return Err(bia::Error::new(
                tonic::Code::AlreadyExists,
                "BOOK_EXISTS",
                "a book with this title exists",
            )
            .into());
        }
        book.name = format!("shelves/{}/books/{}", request.shelf, request.request_id);
        Ok(Response::new(book))
    }

    async fn update_book(
        &self,
        request: Request<UpdateBookRequest>,
    ) -> Result<Response<Book>, Status> {
        let request = request.into_inner();
        let mut book = request.book.unwrap_or_default();
        // The mask's paths, for the test to see.
        book.tags = request.update_mask.map(|m| m.paths).unwrap_or_default();
        Ok(Response::new(book))
    }

    async fn list_books(
        &self,
        request: Request<ListBooksRequest>,
    ) -> Result<Response<ListBooksResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(ListBooksResponse {
            books: vec![Book {
                id: "b1".into(),
                ..Book::default()
            }],
            echoed: Some(request),
        }))
    }

    async fn delete_book(
        &self,
        request: Request<DeleteBookRequest>,
    ) -> Result<Response<()>, Status> {
        if request.into_inner().id == "locked" {
            return Err(Status::failed_precondition("the book is on loan"));
        }
        Ok(Response::new(()))
    }

    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let request = request.into_inner();
        Ok(Response::new(Order {
            id: request.id,
            state: "CANCELLED".into(),
            reason: request.reason,
            refund_cents: u64::MAX,
        }))
    }

    async fn get_file(&self, request: Request<GetFileRequest>) -> Result<Response<File>, Status> {
        let request = request.into_inner();
        if request.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(request.delay_ms.into())).await;
        }
        Ok(Response::new(File { path: request.path }))
    }

    async fn get_author(
        &self,
        request: Request<GetAuthorRequest>,
    ) -> Result<Response<GetAuthorResponse>, Status> {
        Ok(Response::new(GetAuthorResponse {
            author: Some(Author {
                id: request.into_inner().id,
                display_name: "Frank Herbert".into(),
            }),
            etag: "not in the body".into(),
        }))
    }

    type WatchBooksStream = BookStream;

    async fn watch_books(
        &self,
        request: Request<WatchBooksRequest>,
    ) -> Result<Response<BookStream>, Status> {
        let request = request.into_inner();
        if request.shelf == "closed" {
            return Err(Status::permission_denied("the shelf is closed"));
        }
        let items: Vec<Result<Book, Status>> = (1..=request.count)
            .map(|i| {
                if request.fail_after > 0 && i > request.fail_after {
                    Err(Status::aborted("the shelf was moved"))
                } else {
                    Ok(Book {
                        id: format!("b{i}"),
                        pages: i64::from(i),
                        ..Book::default()
                    })
                }
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(items))))
    }

    async fn import_books(
        &self,
        _request: Request<Streaming<Book>>,
    ) -> Result<Response<ImportSummary>, Status> {
        Ok(Response::new(ImportSummary::default()))
    }

    async fn ping(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}
