//! Raw HTTP/2 gRPC for tests of peers that misbehave: the h2 crate as the client, with
//! hand-made gRPC framing, so a test can do what a well-behaved client never would.

use bytes::Bytes;
use prost::Message;
use tokio::net::TcpStream;

/// One gRPC message: the 5-byte prefix and the payload.
pub fn grpc_frame(message: &impl Message) -> Bytes {
    let payload = message.encode_to_vec();
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(0);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Bytes::from(out)
}

/// A gRPC request's head for `path` with `content_type` (`application/grpc` for a real call).
pub fn grpc_request(path: &str, content_type: &str) -> http::Request<()> {
    http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{path}"))
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(())
        .unwrap()
}

/// An h2 client connection to `addr`, and the task that drives it.
pub async fn h2_client(
    addr: std::net::SocketAddr,
) -> (h2::client::SendRequest<Bytes>, tokio::task::JoinHandle<()>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, driver)
}

/// Sends a whole unary-request gRPC call on `client`: the head for `path` and `message` as its
/// one message, ending the stream. Returns the answer's future.
pub fn send_call(
    client: &mut h2::client::SendRequest<Bytes>,
    path: &str,
    message: Bytes,
) -> h2::client::ResponseFuture {
    let (response, mut send) = client
        .send_request(grpc_request(path, "application/grpc"), false)
        .unwrap();
    send.send_data(message, true).unwrap();
    response
}
