//! Settings declared once: [`settings!`] turns one list of settings into their flags (each with
//! its `HTSGET_*` variable), their TOML keys, their defaults, the one merge of flags over file,
//! and the resolved struct the server reads.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer};

/// Declares a group of settings. Each entry names, in one place, the flag and TOML key (the same
/// kebab-case word), the environment variable, the type the flag and the file give, the
/// resolved type (converted with `From`) and the default:
///
/// ```text
/// settings! {
///     /// The group's resolved settings.
///     pub struct Group, flags GroupArgs {
///         /// Help text, also the field's documentation.
///         #[setting("store-timeout", "HTSGET_STORE_TIMEOUT", Seconds, value_name = "SECONDS")]
///         pub timeout: Duration = Duration::from_secs(30),
///     }
///     // Fields the file's tables give (set by whoever builds the group), with their defaults.
///     also {
///         /// A table of the file.
///         pub options: BTreeMap<String, String> = BTreeMap::new(),
///     }
/// }
/// ```
///
/// It yields `GroupArgs` (clap flags and serde keys, every field optional), `GroupArgs::over`
/// (the one merge: each setting from the higher layer, else the lower), `GroupArgs::KEYS`, the
/// resolved `Group` with its `Default`, and `Group::from_args` (the layers' values over the
/// defaults, the `also` fields at their defaults).
macro_rules! settings {
    (
        $(#[$meta:meta])*
        $vis:vis struct $resolved:ident, flags $args:ident {
            $(
                $(#[doc = $doc:literal])*
                #[setting($key:literal, $env:literal, $raw:ty $(, $($arg:tt)*)?)]
                $(#[serde($($serde:tt)*)])?
                $fvis:vis $field:ident: $ty:ty = $default:expr,
            )*
        }
        $(
            also {
                $(
                    $(#[doc = $also_doc:literal])*
                    $avis:vis $also:ident: $also_ty:ty = $also_default:expr,
                )*
            }
        )?
    ) => {
        #[doc = concat!("The flags and file keys of [`", stringify!($resolved), "`], each optional.")]
        #[derive(Clone, Debug, Default, clap::Args, serde::Deserialize)]
        $vis struct $args {
            $(
                $(#[doc = $doc])*
                #[arg(long = $key, env = $env $(, $($arg)*)?)]
                #[serde(rename = $key, default $(, $($serde)*)?)]
                $fvis $field: Option<$raw>,
            )*
        }

        impl $args {
            /// The file keys (and flag names) of these settings.
            $vis const KEYS: &'static [&'static str] = &[$($key),*];

            /// Each setting from `self`, else from `lower`.
            $vis fn over(self, lower: Self) -> Self {
                Self {
                    $($field: self.$field.or(lower.$field),)*
                }
            }
        }

        $(#[$meta])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        $vis struct $resolved {
            $(
                $(#[doc = $doc])*
                $fvis $field: $ty,
            )*
            $($(
                $(#[doc = $also_doc])*
                $avis $also: $also_ty,
            )*)?
        }

        impl Default for $resolved {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                    $($($also: $also_default,)*)?
                }
            }
        }

        impl $resolved {
            /// The settings `args` gives, the defaults for the rest.
            $vis fn from_args(args: $args) -> Self {
                let defaults = Self::default();
                Self {
                    $($field: args.$field.map(Into::into).unwrap_or(defaults.$field),)*
                    $($($also: defaults.$also,)*)?
                }
            }
        }
    };
}

pub(crate) use settings;

/// A count of seconds, as flags and the file give durations.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Seconds(pub u64);

impl FromStr for Seconds {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Self)
    }
}

impl From<Seconds> for Duration {
    fn from(seconds: Seconds) -> Self {
        Self::from_secs(seconds.0)
    }
}

impl From<Seconds> for Option<Duration> {
    fn from(seconds: Seconds) -> Self {
        Some(seconds.into())
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, path::PathBuf};

    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::config::access::one_or_many;

    settings! {
        /// A test group.
        struct Group, flags GroupArgs {
            /// A number.
            #[setting("a-number", "TEST_A_NUMBER", u64)]
            number: u64 = 7,
            /// A duration.
            #[setting("a-wait", "TEST_A_WAIT", Seconds)]
            wait: Duration = Duration::from_secs(3),
            /// A path, none by default.
            #[setting("a-path", "TEST_A_PATH", PathBuf)]
            path: Option<PathBuf> = None,
            /// A list.
            #[setting("a-list", "TEST_A_LIST", Vec<String>)]
            #[serde(deserialize_with = "one_or_many")]
            list: Vec<String> = Vec::new(),
            /// A switch.
            #[setting("a-switch", "TEST_A_SWITCH", bool, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
            switch: bool = false,
        }
        also {
            /// A table.
            table: BTreeMap<String, String> = BTreeMap::new(),
        }
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        group: GroupArgs,
    }

    fn flags(args: &[&str]) -> GroupArgs {
        Cli::parse_from(["test"].iter().chain(args)).group
    }

    fn file(text: &str) -> GroupArgs {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn test_from_args_with_nothing_given_is_default() {
        assert_eq!(Group::from_args(GroupArgs::default()), Group::default());
        assert_eq!(Group::default().number, 7);
        assert_eq!(Group::default().wait, Duration::from_secs(3));
    }

    #[test]
    fn test_flags_and_keys_with_one_name() {
        let flagged = Group::from_args(flags(&[
            "--a-number",
            "1",
            "--a-wait",
            "2",
            "--a-path",
            "/p",
            "--a-list",
            "x",
            "--a-list",
            "y",
            "--a-switch",
        ]));
        let filed = Group::from_args(file(
            "a-number = 1\na-wait = 2\na-path = \"/p\"\na-list = [\"x\", \"y\"]\na-switch = true\n",
        ));
        assert_eq!(flagged, filed);
        assert_eq!(flagged.wait, Duration::from_secs(2));
        assert_eq!(flagged.list, ["x", "y"]);
        assert!(flagged.switch);
        assert_eq!(Group::from_args(file("a-list = \"z\"")).list, ["z"]);
        assert_eq!(
            GroupArgs::KEYS,
            ["a-number", "a-wait", "a-path", "a-list", "a-switch"]
        );
    }

    #[test]
    fn test_over_with_flags_over_file() {
        let merged = Group::from_args(
            flags(&["--a-number", "1"]).over(file("a-number = 2\na-wait = 5\na-switch = true")),
        );
        assert_eq!(merged.number, 1);
        assert_eq!(merged.wait, Duration::from_secs(5));
        assert!(merged.switch);
        assert_eq!(merged.path, None);

        // A switch given false on the command line stands over the file's true.
        let off = flags(&["--a-switch=false"]).over(file("a-switch = true"));
        assert!(!Group::from_args(off).switch);
    }

    #[test]
    fn test_flags_with_their_variables() {
        let command = Cli::command();
        let envs: Vec<_> = command
            .get_arguments()
            .map(|arg| arg.get_env().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            envs,
            [
                "TEST_A_NUMBER",
                "TEST_A_WAIT",
                "TEST_A_PATH",
                "TEST_A_LIST",
                "TEST_A_SWITCH"
            ]
        );
    }

    #[test]
    fn test_file_with_bad_values_refused() {
        assert!(toml::from_str::<GroupArgs>("a-wait = -1").is_err());
        assert!(toml::from_str::<GroupArgs>("a-list = 3").is_err());
        assert!("x".parse::<Seconds>().is_err());
    }
}
