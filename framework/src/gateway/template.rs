//! `google.api.http` path templates: parsed once at start, matched per request without
//! allocating.
//!
//! The grammar (from `google/api/http.proto`):
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! `{id}` is short for `{id=*}`. `*` matches one non-empty segment, `**` any number of them
//! (and so must come last). A template is flattened into its segments; each variable records
//! the range of segments it binds, so matching is a walk over the request's segments and
//! binding reads the ranges back.

use std::fmt;

/// One segment of a flattened template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Literal text (as written, percent-encoded where the template encodes it).
    Literal(Box<str>),
    /// `*`: exactly one segment.
    Single,
    /// `**`: zero or more segments, the rest of the path.
    Multi,
}

/// A variable: the field it sets and the segments it binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    field_path: Vec<String>,
    start: usize,
    end: usize,
}

impl Variable {
    /// The field path, `["user", "id"]` for `{user.id}`.
    pub fn field_path(&self) -> &[String] {
        &self.field_path
    }

    /// The indices into [`PathTemplate::segments`] of the segments it binds (`{id}` binds one
    /// `*`; `{name=shelves/*}` binds a literal and a `*`).
    pub fn segments(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// A parsed path template.
///
/// ```
/// use bia::gateway::template::{PathTemplate, Segment};
///
/// let template = PathTemplate::parse("/v1/{name=shelves/*}/books/{book.id}:archive").unwrap();
/// assert_eq!(template.segments()[1], Segment::Literal("shelves".into()));
/// assert_eq!(template.variables()[1].field_path(), ["book", "id"]);
/// assert_eq!(template.verb(), Some("archive"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTemplate {
    text: Box<str>,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<Box<str>>,
}

/// What is wrong with a template, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct TemplateError {
    at: usize,
    reason: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.at)
    }
}

impl std::error::Error for TemplateError {}

/// A request path split for matching: its segments and custom verb candidate.
#[derive(Debug)]
pub(crate) struct RequestPath<'a> {
    /// The segments, still percent-encoded.
    segments: Vec<&'a str>,
    /// The text after the last `:` of the last segment, if any.
    verb: Option<&'a str>,
    /// The last segment without its `:verb`.
    last_without_verb: &'a str,
}

impl<'a> RequestPath<'a> {
    /// Splits `path` (which starts with `/`); the one allocation of routing a request.
    pub(crate) fn new(path: &'a str) -> Self {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let segments: Vec<&str> = trimmed.split('/').collect();
        let last = segments.last().copied().unwrap_or("");
        let (last_without_verb, verb) = match last.rfind(':') {
            Some(i) => (&last[..i], Some(&last[i + 1..])),
            None => (last, None),
        };
        Self {
            segments,
            verb,
            last_without_verb,
        }
    }
}

impl PathTemplate {
    /// Parses `text`; the error says what is wrong and at which byte.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parser = Parser {
            text,
            at: 0,
            segments: Vec::new(),
            variables: Vec::new(),
        };
        parser.template()?;
        let Parser {
            segments,
            variables,
            at,
            ..
        } = parser;
        let verb = text[at..].strip_prefix(':').map(Box::from);
        let template = Self {
            text: text.into(),
            segments,
            variables,
            verb,
        };
        template.check()?;
        Ok(template)
    }

    fn check(&self) -> Result<(), TemplateError> {
        let last = self.segments.len() - 1;
        if let Some(i) = self
            .segments
            .iter()
            .position(|s| *s == Segment::Multi)
            .filter(|i| *i != last)
        {
            return Err(TemplateError {
                at: 0,
                reason: format!(
                    "`**` may only be the last segment (it is segment {} of {})",
                    i + 1,
                    last + 1
                ),
            });
        }
        for (i, a) in self.variables.iter().enumerate() {
            if self.variables[..i]
                .iter()
                .any(|b| b.field_path == a.field_path)
            {
                return Err(TemplateError {
                    at: 0,
                    reason: format!("the field `{}` is bound twice", a.field_path.join(".")),
                });
            }
        }
        Ok(())
    }

    /// The template as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The segments, with the variables' own segments flattened in.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The variables, in order.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The custom verb (`cancel` for `…:cancel`).
    pub fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// Whether `path` matches; does not allocate.
    pub(crate) fn matches(&self, path: &RequestPath<'_>) -> bool {
        if self.verb.as_deref() != path.verb && self.verb.is_some() {
            return false;
        }
        let count = path.segments.len();
        let ends_multi = self.segments.last() == Some(&Segment::Multi);
        let fixed = self.segments.len() - usize::from(ends_multi);
        if count < fixed || (!ends_multi && count != fixed) {
            return false;
        }
        let with_verb = self.verb.is_some();
        self.segments[..fixed]
            .iter()
            .enumerate()
            .all(|(i, segment)| {
                let actual = if with_verb && i + 1 == count {
                    path.last_without_verb
                } else {
                    path.segments[i]
                };
                match segment {
                    Segment::Literal(literal) => **literal == *actual,
                    Segment::Single => !actual.is_empty(),
                    Segment::Multi => true,
                }
            })
    }

    /// The raw (still percent-encoded) text each variable binds in `path`, which must match.
    /// A variable over several segments gets them joined with `/`.
    pub(crate) fn bind<'p>(
        &'p self,
        path: &'p RequestPath<'p>,
    ) -> impl Iterator<Item = (&'p Variable, Bound<'p>)> + 'p {
        let count = path.segments.len();
        let ends_multi = self.segments.last() == Some(&Segment::Multi);
        let with_verb = self.verb.is_some();
        self.variables.iter().map(move |variable| {
            let end = if ends_multi && variable.end == self.segments.len() {
                count
            } else {
                variable.end
            };
            let segments = &path.segments[variable.start.min(end)..end];
            let bound = Bound {
                segments,
                last: if with_verb && end == count {
                    Some(path.last_without_verb)
                } else {
                    None
                },
            };
            (variable, bound)
        })
    }

    /// Orders templates from the most specific: literals before wildcards, segment by
    /// segment; then a custom verb before none; then longer before shorter.
    pub(crate) fn specificity(&self) -> impl Ord + use<> {
        let ranks: Vec<u8> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Single => 1,
                Segment::Multi => 2,
            })
            .collect();
        (
            ranks,
            self.verb.is_none(),
            std::cmp::Reverse(self.segments.len()),
        )
    }

    /// Whether `self` and `other` match exactly the same paths.
    pub(crate) fn same_shape(&self, other: &Self) -> bool {
        self.segments == other.segments && self.verb == other.verb
    }
}

/// The segments a variable binds in one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound<'a> {
    segments: &'a [&'a str],
    /// Replaces the last segment when the path ends with the template's `:verb`.
    last: Option<&'a str>,
}

impl Bound<'_> {
    /// The bound text, percent-decoded. Within one segment everything is decoded; across
    /// several, an encoded `/` stays encoded so the segments remain apart (as
    /// `google/api/http.proto` asks).
    pub(crate) fn decode(&self) -> Result<String, std::str::Utf8Error> {
        let multi = self.segments.len() > 1;
        let mut out = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            let segment = match self.last {
                Some(last) if i + 1 == self.segments.len() => last,
                _ => segment,
            };
            if multi {
                // Decode piece by piece around each encoded slash.
                let mut pieces = split_encoded_slash(segment).peekable();
                while let Some(piece) = pieces.next() {
                    out.push_str(&percent_encoding::percent_decode_str(piece).decode_utf8()?);
                    if pieces.peek().is_some() {
                        out.push_str("%2F");
                    }
                }
            } else {
                out.push_str(&percent_encoding::percent_decode_str(segment).decode_utf8()?);
            }
        }
        Ok(out)
    }
}

fn split_encoded_slash(segment: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(segment);
    std::iter::from_fn(move || {
        let current = rest?;
        let found = current
            .as_bytes()
            .windows(3)
            .position(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'));
        match found {
            Some(i) => {
                rest = Some(&current[i + 3..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
}

impl Parser<'_> {
    fn error<T>(&self, reason: impl Into<String>) -> Result<T, TemplateError> {
        Err(TemplateError {
            at: self.at,
            reason: reason.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn template(&mut self) -> Result<(), TemplateError> {
        if self.peek() != Some(b'/') {
            return self.error("a template must start with `/`");
        }
        self.at += 1;
        self.segments_until(false)?;
        match self.peek() {
            None => Ok(()),
            Some(b':') => {
                let verb = &self.text[self.at + 1..];
                if verb.is_empty() || !verb.bytes().all(is_literal_byte) {
                    return self.error(format!(
                        "`:{verb}` is not a custom verb (letters, digits, `-`, `_`, `.`, `~`)"
                    ));
                }
                Ok(())
            }
            Some(other) => self.error(format!(
                "`{}` cannot appear in a path template",
                other as char
            )),
        }
    }

    /// Segments separated by `/`, up to the end, a `:verb` or (inside a variable) `}`.
    fn segments_until(&mut self, in_variable: bool) -> Result<(), TemplateError> {
        loop {
            self.segment(in_variable)?;
            if self.peek() == Some(b'/') {
                self.at += 1;
            } else {
                return Ok(());
            }
        }
    }

    fn segment(&mut self, in_variable: bool) -> Result<(), TemplateError> {
        match self.peek() {
            Some(b'*') => {
                self.at += 1;
                if self.peek() == Some(b'*') {
                    self.at += 1;
                    self.segments.push(Segment::Multi);
                } else {
                    self.segments.push(Segment::Single);
                }
                Ok(())
            }
            Some(b'{') if in_variable => self.error("variables cannot be nested"),
            Some(b'{') => self.variable(),
            _ => {
                let start = self.at;
                while self.peek().is_some_and(is_literal_byte) {
                    self.at += 1;
                }
                if self.at == start {
                    return match self.peek() {
                        None | Some(b'/') | Some(b':') | Some(b'}') => {
                            self.error("empty segment (two `/` in a row, or one at the end)")
                        }
                        Some(other) => self.error(format!(
                            "`{}` cannot appear in a path segment",
                            other as char
                        )),
                    };
                }
                self.segments
                    .push(Segment::Literal(self.text[start..self.at].into()));
                Ok(())
            }
        }
    }

    fn variable(&mut self) -> Result<(), TemplateError> {
        self.at += 1;
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            self.at += 1;
        }
        let path = &self.text[start..self.at];
        let field_path: Vec<String> = path.split('.').map(str::to_owned).collect();
        if field_path.iter().any(|p| !is_ident(p)) {
            return self.error(format!(
                "`{path}` is not a field path (names separated by `.`)"
            ));
        }
        let first = self.segments.len();
        match self.peek() {
            Some(b'=') => {
                self.at += 1;
                self.segments_until(true)?;
            }
            _ => self.segments.push(Segment::Single),
        }
        if self.peek() != Some(b'}') {
            return self.error(format!("expected `}}` to close `{{{path}`"));
        }
        self.at += 1;
        self.variables.push(Variable {
            field_path,
            start: first,
            end: self.segments.len(),
        });
        Ok(())
    }
}

/// Bytes a literal segment may hold: RFC 3986 unreserved characters, `%` escapes and the
/// sub-delimiters that have no meaning in the grammar.
fn is_literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'+'
                | b','
                | b';'
                | b'@'
        )
}

fn is_ident(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        let template = PathTemplate::parse(template).unwrap();
        let path = RequestPath::new(path);
        if !template.matches(&path) {
            return None;
        }
        Some(
            template
                .bind(&path)
                .map(|(v, b)| (v.field_path().join("."), b.decode().unwrap()))
                .collect(),
        )
    }

    fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            list.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn literals_and_simple_variables() {
        assert_eq!(
            bound("/v1/users/{id}", "/v1/users/42"),
            pairs(&[("id", "42")])
        );
        assert_eq!(bound("/v1/users/{id}", "/v1/users"), None);
        assert_eq!(bound("/v1/users/{id}", "/v1/users/"), None);
        assert_eq!(bound("/v1/users/{id}", "/v1/users/4/x"), None);
        assert_eq!(bound("/v1/users/{id}", "/v2/users/4"), None);
        assert_eq!(bound("/v1/users", "/v1/users"), pairs(&[]));
    }

    #[test]
    fn nested_field_paths_and_escapes() {
        assert_eq!(
            bound("/v1/users/{user.id}", "/v1/users/a%20b%2Fc"),
            pairs(&[("user.id", "a b/c")])
        );
    }

    #[test]
    fn variables_over_several_segments() {
        assert_eq!(
            bound("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b%2F2"),
            pairs(&[("name", "shelves/s1/books/b%2F2")])
        );
        assert_eq!(
            bound("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/novels/b2"),
            None
        );
        assert_eq!(
            bound("/v1/{name=files/**}", "/v1/files/a/b/c"),
            pairs(&[("name", "files/a/b/c")])
        );
        assert_eq!(
            bound("/v1/{name=files/**}", "/v1/files"),
            pairs(&[("name", "files")])
        );
        assert_eq!(bound("/v1/*/x", "/v1/anything/x"), pairs(&[]));
        assert_eq!(bound("/static/**", "/static/a/b"), pairs(&[]));
    }

    #[test]
    fn custom_verbs() {
        assert_eq!(
            bound("/v1/operations/{id}:cancel", "/v1/operations/7:cancel"),
            pairs(&[("id", "7")])
        );
        assert_eq!(
            bound("/v1/operations/{id}:cancel", "/v1/operations/7"),
            None
        );
        assert_eq!(
            bound("/v1/operations/{id}:cancel", "/v1/operations/7:undo"),
            None
        );
        assert_eq!(
            bound("/v1/{name=ops/**}:cancel", "/v1/ops/a/b:cancel"),
            pairs(&[("name", "ops/a/b")])
        );
        assert_eq!(bound("/v1:batch", "/v1:batch"), pairs(&[]));
    }

    #[test]
    fn malformed_templates_say_what_is_wrong() {
        let error = |t: &str| PathTemplate::parse(t).unwrap_err().to_string();
        assert!(error("v1/x").contains("must start with `/`"));
        assert!(error("/v1//x").contains("empty segment"));
        assert!(error("/v1/{id").contains("expected `}` to close `{id`"));
        assert!(error("/v1/{a={b}}").contains("cannot be nested"));
        assert!(error("/v1/**/x").contains("`**` may only be the last segment"));
        assert!(error("/v1/{id}/{id}").contains("bound twice"));
        assert!(error("/v1/{1x}").contains("not a field path"));
        assert!(error("/v1/x:").contains("not a custom verb"));
        assert!(error("/v1/a?b").contains("`?` cannot appear"));
        assert!(error("/v1/{a}=").contains("`=` cannot appear"));
    }

    #[test]
    fn specific_templates_sort_first() {
        let mut templates = ["/v1/{name=**}", "/v1/{id}", "/v1/me", "/v1/{id}:cancel"]
            .map(|t| PathTemplate::parse(t).unwrap());
        templates.sort_by_key(|t| t.specificity());
        let order: Vec<&str> = templates.iter().map(|t| t.text()).collect();
        assert_eq!(
            order,
            ["/v1/me", "/v1/{id}:cancel", "/v1/{id}", "/v1/{name=**}"]
        );
    }
}
