//! Why a call was turned away, as a status that says so without echoing the token.

use jsonwebtoken::Algorithm;
use tonic::Code;

/// Why a call has no valid credentials (`UNAUTHENTICATED`) or lacks a scope (`PERMISSION_DENIED`).
#[derive(Debug)]
pub(super) enum Rejection {
    Missing,
    NotBearer,
    Malformed,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim(String),
    BadClaim(String),
    BadSignature,
    Algorithm { used: Algorithm, allowed: String },
    NoKeyId,
    UnknownKey,
    Invalid,
    MissingScopes(Vec<String>),
}

impl Rejection {
    /// The `ErrorInfo` reason: stable, for clients to branch on.
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Rejection::Missing => "TOKEN_MISSING",
            Rejection::NotBearer | Rejection::Malformed => "TOKEN_MALFORMED",
            Rejection::Expired => "TOKEN_EXPIRED",
            Rejection::NotYetValid => "TOKEN_NOT_YET_VALID",
            Rejection::WrongIssuer => "TOKEN_WRONG_ISSUER",
            Rejection::WrongAudience => "TOKEN_WRONG_AUDIENCE",
            Rejection::MissingClaim(_) | Rejection::BadClaim(_) | Rejection::Invalid => {
                "TOKEN_INVALID"
            }
            Rejection::BadSignature => "TOKEN_BAD_SIGNATURE",
            Rejection::Algorithm { .. } => "TOKEN_ALGORITHM_NOT_ALLOWED",
            Rejection::NoKeyId | Rejection::UnknownKey => "TOKEN_UNKNOWN_KEY",
            Rejection::MissingScopes(_) => "SCOPE_MISSING",
        }
    }

    fn message(&self) -> String {
        match self {
            Rejection::Missing => {
                "missing credentials: send the metadata `authorization: Bearer <token>`".to_owned()
            }
            Rejection::NotBearer => "the authorization metadata is not `Bearer <token>`".to_owned(),
            Rejection::Malformed => "the bearer token is not a well-formed JWT".to_owned(),
            Rejection::Expired => "the token has expired (exp)".to_owned(),
            Rejection::NotYetValid => "the token is not valid yet (nbf)".to_owned(),
            Rejection::WrongIssuer => {
                "the token's issuer (iss) is not the one this service trusts".to_owned()
            }
            Rejection::WrongAudience => {
                "the token's audience (aud) does not include this service".to_owned()
            }
            Rejection::MissingClaim(claim) => format!("the token has no `{claim}` claim"),
            Rejection::BadClaim(claim) => format!("the token's `{claim}` claim is malformed"),
            Rejection::BadSignature => "the token's signature is invalid".to_owned(),
            Rejection::Algorithm { used, allowed } => {
                format!("the token is signed with {used:?}, but its key verifies {allowed} only")
            }
            Rejection::NoKeyId => {
                "the token names no key (kid), and there are several to choose from".to_owned()
            }
            Rejection::UnknownKey => {
                "the token's key (kid) is not one this service knows".to_owned()
            }
            Rejection::Invalid => "the token is invalid".to_owned(),
            Rejection::MissingScopes(scopes) => match scopes.as_slice() {
                [one] => format!("the token lacks the scope `{one}` this method requires"),
                many => format!(
                    "the token lacks the scopes `{}` this method requires",
                    many.join("`, `")
                ),
            },
        }
    }

    /// The status to answer with.
    pub(super) fn into_status(self) -> tonic::Status {
        let code = match self {
            Rejection::MissingScopes(_) => Code::PermissionDenied,
            _ => Code::Unauthenticated,
        };
        let mut error = crate::Error::new(code, self.reason(), self.message());
        if let Rejection::MissingScopes(scopes) = &self {
            error = error.with_metadata("missing_scopes", scopes.join(" "));
        }
        error.into()
    }
}
