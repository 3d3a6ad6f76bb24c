//! The request messages: JSON from `-d DATA`, `-d @FILE`, `-d @-` or standard input, a sequence
//! separated by whitespace, each checked against the method's input type.

use std::io::IsTerminal;
use std::path::PathBuf;

use prost_reflect::{DynamicMessage, MessageDescriptor};
use tokio::sync::{mpsc, oneshot};

use super::error::{CallError, Result};
use super::json;

/// Where the JSON comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// The text given to `-d`.
    Text(String),
    /// `-d @FILE`.
    File(PathBuf),
    /// `-d @-`, or no `-d` for client and bidi streams: read as it arrives.
    Stdin,
    /// No `-d` for a unary or server-streaming call: one empty message, as grpcurl sends.
    Empty,
}

impl Input {
    /// The input `-d` names (`None`: not given; `streams`: the method takes a stream).
    pub(crate) fn from_arg(data: Option<&str>, streams: bool) -> Self {
        match data {
            Some("@-") => Input::Stdin,
            Some(data) if data.starts_with('@') => Input::File(PathBuf::from(&data[1..])),
            Some(data) => Input::Text(data.to_owned()),
            None if streams => Input::Stdin,
            None => Input::Empty,
        }
    }
}

/// The messages of a call: all of them when the input was at hand, or a stream from standard
/// input with a separate slot for the first bad one.
pub(crate) enum Messages {
    /// Parsed before the call starts.
    Ready(Vec<DynamicMessage>),
    /// Parsed as standard input is read; the call is cut short by an error in `errors`.
    Streaming {
        /// The messages read so far.
        messages: mpsc::Receiver<DynamicMessage>,
        /// The first malformed message, if any.
        errors: oneshot::Receiver<CallError>,
    },
}

impl Messages {
    /// Reads `input` as messages of type `desc`.
    pub(crate) fn read(input: Input, desc: &MessageDescriptor) -> Result<Self> {
        let text = match input {
            Input::Empty => return Ok(Messages::Ready(vec![DynamicMessage::new(desc.clone())])),
            Input::Text(text) => text,
            Input::File(path) => {
                std::fs::read_to_string(&path).map_err(|source| CallError::Read { path, source })?
            }
            Input::Stdin => return Ok(stdin(desc.clone())),
        };
        let mut messages = Vec::new();
        for (index, value) in serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .enumerate()
        {
            messages.push(convert(desc, index, value)?);
        }
        Ok(Messages::Ready(messages))
    }
}

/// One JSON value read (or failed to read) as message number `index` (from 0).
fn convert(
    desc: &MessageDescriptor,
    index: usize,
    value: serde_json::Result<serde_json::Value>,
) -> Result<DynamicMessage> {
    let which = index + 1;
    let value = value.map_err(|e| {
        CallError::Input(format!(
            "request message {which} is not valid JSON: {e}\nhint: each message is a JSON \
             object such as '{{\"name\": \"value\"}}'; several are separated by whitespace"
        ))
    })?;
    json::to_message(desc, value).map_err(|e| {
        CallError::Input(format!(
            "request message {which} does not fit {}: {e}",
            desc.full_name()
        ))
    })
}

/// Reads standard input on a thread of its own (reading it blocks), so that a bidi call sends
/// each message as soon as it has been typed.
fn stdin(desc: MessageDescriptor) -> Messages {
    if std::io::stdin().is_terminal() {
        eprintln!(
            "reading {} messages as JSON from standard input; end them with Ctrl-D",
            desc.full_name()
        );
    }
    let (tx, messages) = mpsc::channel(16);
    let (error_tx, errors) = oneshot::channel();
    std::thread::spawn(move || {
        // serde_json returns each object as soon as its closing brace is read.
        let values = serde_json::Deserializer::from_reader(std::io::stdin().lock())
            .into_iter::<serde_json::Value>();
        for (index, value) in values.enumerate() {
            match convert(&desc, index, value) {
                Ok(message) => {
                    if tx.blocking_send(message).is_err() {
                        return;
                    }
                }
                Err(err) => {
                    let _ = error_tx.send(err);
                    return;
                }
            }
        }
    });
    Messages::Streaming { messages, errors }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::DescriptorPool;

    fn desc() -> MessageDescriptor {
        let fds = protox::compile(["test.proto"], ["src/call/testdata"]).unwrap();
        DescriptorPool::from_file_descriptor_set(fds)
            .unwrap()
            .get_message_by_name("test.v1.Inner")
            .unwrap()
    }

    fn ready(input: Input) -> Result<Vec<DynamicMessage>> {
        match Messages::read(input, &desc())? {
            Messages::Ready(list) => Ok(list),
            Messages::Streaming { .. } => panic!("expected messages at hand"),
        }
    }

    #[test]
    fn the_data_argument_names_its_source() {
        assert_eq!(Input::from_arg(Some("@-"), false), Input::Stdin);
        assert_eq!(
            Input::from_arg(Some("@a.json"), false),
            Input::File("a.json".into())
        );
        assert_eq!(Input::from_arg(Some("{}"), true), Input::Text("{}".into()));
        assert_eq!(Input::from_arg(None, false), Input::Empty);
        assert_eq!(Input::from_arg(None, true), Input::Stdin);
    }

    #[test]
    fn text_holds_a_whitespace_separated_sequence() {
        let list = ready(Input::Text("{\"count\": 1}\n {\"label\": \"b\"}{}".into())).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0].get_field_by_name("count").unwrap().as_u32(),
            Some(1)
        );
        assert_eq!(ready(Input::Text("  ".into())).unwrap().len(), 0);
        let empty = ready(Input::Empty).unwrap();
        assert_eq!(empty.len(), 1);
        assert!(prost::Message::encode_to_vec(&empty[0]).is_empty());
    }

    #[test]
    fn bad_input_names_the_message_and_the_place() {
        let err = ready(Input::Text("{} {\"count\": 1,}".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("request message 2 is not valid JSON:"),
            "{err}"
        );
        assert!(err.contains("column"), "{err}");
        let err = ready(Input::File("no/such/file.json".into()))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot read no/such/file.json:"), "{err}");
    }
}
