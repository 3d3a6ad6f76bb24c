//! `bia call`: a gRPC client for any service, in the manner of grpcurl. It lists services,
//! describes symbols and calls methods of all four kinds with JSON messages, taking the
//! descriptors from the server's reflection or from local .proto files.
//!
//! ```text
//! bia call 127.0.0.1:9000 list
//! bia call 127.0.0.1:9000 describe echo.v1.Echo
//! bia call 127.0.0.1:9000 echo.v1.Echo/Say -d '{"message": "hi"}'
//! ```

mod codec;
mod connect;
mod describe;
mod error;
mod headers;
mod input;
mod insecure;
mod invoke;
mod json;
mod reflection;
mod source;
mod status;
mod target;

use std::time::Duration;

pub use error::CallError;
use error::Result;

use crate::args::CallArgs;
use connect::Connection;
use input::{Input, Messages};
use invoke::CallOptions;
use reflection::Reflection;
use source::Source;

/// What `bia call` was asked to do.
enum Action<'a> {
    List(Option<&'a str>),
    Describe(Option<&'a str>),
    Call(&'a str),
}

/// Runs `bia call`.
pub fn run(args: &CallArgs) -> Result<(), CallError> {
    let action = action(args)?;
    let headers = headers::parse(&args.headers)?;
    let deadline = args.deadline.as_deref().map(duration).transpose()?;
    let connect_timeout = duration(&args.connect_timeout)?;
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        (None, None) => None,
        _ => {
            return Err(CallError::usage(
                "--cert and --key go together: give both for a client certificate (mTLS)",
            ));
        }
    };
    let want_tls = args.tls || args.cacert.is_some() || identity.is_some() || args.insecure;
    let connection = Connection {
        target: target::parse(&args.addr, args.plaintext, want_tls)?,
        authority: args.authority.clone(),
        ca_file: args.cacert.clone(),
        identity,
        insecure: args.insecure,
        connect_timeout,
    };
    // Local protos are checked before anything goes over the network.
    let local = if args.protos.is_empty() {
        if !args.includes.is_empty() {
            return Err(CallError::usage(
                "-I is for --proto: give the .proto files too",
            ));
        }
        None
    } else {
        Some(Source::local(&args.protos, &args.includes)?)
    };
    let options = CallOptions {
        headers,
        deadline,
        output: json::serialize_options(args.emit_defaults),
        verbose: args.verbose,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CallError::Connect {
            target: args.addr.clone(),
            reason: format!("cannot start the async runtime: {e}"),
            hint: "check the process's limits (threads, file descriptors)",
        })?;
    runtime.block_on(async move {
        let channel = connection.connect().await?;
        let mut source = match local {
            Some(source) => source,
            None => Source::Reflection(Reflection::new(channel.clone(), options.headers.clone())),
        };
        match action {
            Action::List(None) => {
                for service in source.services().await? {
                    println!("{service}");
                }
                Ok(())
            }
            Action::List(Some(service)) => {
                let pool = source.pool_for(service).await?;
                print!("{}", describe::methods(&pool, service)?);
                Ok(())
            }
            Action::Describe(Some(symbol)) => {
                // `pkg.Service/Method` names its service; a dotted symbol may be anything.
                let lookup = symbol
                    .split_once('/')
                    .map_or(symbol, |(service, _)| service);
                let pool = source.pool_for(lookup).await?;
                print!("{}", describe::describe(&pool, symbol)?);
                Ok(())
            }
            // Every service, as grpcurl's `describe` without a symbol.
            Action::Describe(None) => {
                let mut texts = Vec::new();
                for service in source.services().await? {
                    // A server may list a service whose descriptors it does not serve.
                    match source.pool_for(&service).await {
                        Ok(pool) => texts.push(describe::describe(&pool, &service)?),
                        Err(CallError::NotFound(_)) => {
                            eprintln!("{service}: the server lists it but does not describe it");
                        }
                        Err(err) => return Err(err),
                    }
                }
                print!("{}", texts.join("\n"));
                Ok(())
            }
            Action::Call(name) => call(channel, &mut source, name, args, &options).await,
        }
    })
}

async fn call(
    channel: tonic::transport::Channel,
    source: &mut Source,
    name: &str,
    args: &CallArgs,
    options: &CallOptions,
) -> Result<()> {
    let dotted = name.replace('/', ".");
    let service = dotted.rsplit_once('.').map_or("", |(s, _)| s);
    // The service, not the method: reflection servers need not index methods (tonic's does
    // not), and asking for one would cost a round trip that fails.
    let pool = source.pool_for(service).await?;
    let method = describe::method(&pool, &dotted).ok_or_else(|| {
        let known = describe::methods(&pool, service).unwrap_or_default();
        error::CallError::NotFound(if known.is_empty() {
            format!(
                "no method `{name}`: the descriptors have no service `{service}`\nhint: `bia call \
                 ADDR list` shows the services; write methods as pkg.Service/Method"
            )
        } else {
            format!("no method `{name}`; {service} has:\n{}", known.trim_end())
        })
    })?;
    let input = Input::from_arg(args.data.as_deref(), method.is_client_streaming());
    let messages = Messages::read(input, &method.input())?;
    match invoke::invoke(channel, &method, messages, options).await? {
        Ok(()) => Ok(()),
        Err(status) => Err(CallError::Status {
            code: status.code(),
            rendered: status::render(&status, Some(&pool)),
        }),
    }
}

fn action(args: &CallArgs) -> Result<Action<'_>> {
    let extra = args.symbol.as_deref();
    match args.command.as_str() {
        "list" => Ok(Action::List(extra)),
        "describe" => Ok(Action::Describe(extra)),
        method if method.contains('/') || method.contains('.') => match extra {
            None => Ok(Action::Call(method)),
            Some(extra) => Err(CallError::usage(format!(
                "unexpected `{extra}` after the method; pass the request with -d '{{...}}'"
            ))),
        },
        other => Err(CallError::usage(format!(
            "`{other}` is neither `list`, `describe` nor a method such as pkg.Service/Method"
        ))),
    }
}

fn duration(text: &str) -> Result<Duration> {
    humantime::parse_duration(text).map_err(|e| {
        CallError::usage(format!(
            "invalid duration `{text}`: {e}; write it as e.g. 500ms, 5s or 1m"
        ))
    })
}
