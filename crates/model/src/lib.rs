//! The vocabulary of zhanqun: tenants, channels, documents and the commands
//! that change them.
//!
//! This crate is pure on purpose. Everything that the state machine needs to
//! apply a command deterministically is decided before the command exists
//! (ids, times, the actor, blob hashes), so nothing here reads a clock, a
//! random number generator, a file or the network.

pub mod command;
pub mod compliance;
pub mod content_check;
pub mod document;
pub mod html;
pub mod policy;
pub mod repost;
pub mod revision;
pub mod rules;
pub mod tenant;
pub mod time;
pub mod urls;
pub mod user;
pub mod weak_passwords;
pub mod workflow;

pub use command::{Applied, Command, Domain, Outcome, Proposal, Rejection, RejectionKind};
pub use document::{Attachment, Disclosure, DocState, Document, DocumentContent, DocumentPatch, GovMeta, InterpretationKind, Validity};
pub use tenant::{Channel, ChannelKind, Lifecycle, SiteCertificate, Tenant, TenantKind, TenantPatch, UpdateClass};
pub use user::{Grant, PasswordPolicy, PlatformRole, TenantRole, User};
pub use workflow::{ReturnNote, ReviewStage, SecrecySignOff};

/// Escapes text for HTML element content and attribute values. One escaper
/// for the page templates and the search snippets, so both agree.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds since the Unix epoch (UTC). All instants in commands use it.
pub type Millis = i64;

/// Implements `as_str`, `FromStr`, `Display` and string serde for a plain
/// enum whose variants map one-to-one to stable lowercase names. Those names
/// are what the database and the JSON API store, so renaming a variant in Rust
/// never changes data.
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{}`; expected one of: {}",
                        stringify!($name),
                        s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_enum;
