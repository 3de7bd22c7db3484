//! Sizes and durations as the config file writes them.
//!
//! - **Sizes** (byte counts such as `max_body`): an integer of bytes (`1048576`)
//!   or a string with a binary unit: `"512B"`, `"16KiB"`, `"8MiB"`, `"1GiB"`
//!   (`K`, `M`, `G` are accepted as the same binary units).
//! - **Durations** (the timeouts): always a string with a unit: `"500ms"`,
//!   `"10s"`, `"2m"`, `"1h"`. A bare number is refused, so that nobody has to
//!   guess whether `30` means seconds or milliseconds.
//!
//! Both deserialize from the TOML value, so a bad value is reported at its own
//! position in the file.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A byte count from the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

/// A duration from the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval(pub Duration);

/// Parses `"16KiB"`-style sizes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 =
        digits.parse().map_err(|_| format!("`{text}` is not a size (e.g. 1048576, \"16KiB\", \"8MiB\")"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => return Err(format!("unknown size unit `{other}` (use B, KiB, MiB or GiB)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses `"10s"`-style durations.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 =
        digits.parse().map_err(|_| format!("`{text}` is not a duration (e.g. \"500ms\", \"10s\", \"2m\", \"1h\")"))?;
    let duration = match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => number.checked_mul(60).map(Duration::from_secs),
        "h" => number.checked_mul(3600).map(Duration::from_secs),
        "" => return Err(format!("`{text}` needs a unit: ms, s, m or h (e.g. \"{text}s\")")),
        other => return Err(format!("unknown duration unit `{other}` (use ms, s, m or h)")),
    };
    duration.ok_or_else(|| format!("`{text}` is too long"))
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SizeVisitor)
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = Size;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size: a number of bytes or a string such as \"8MiB\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
        u64::try_from(v).map(Size).map_err(|_| E::custom("a size cannot be negative"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
        Ok(Size(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
        parse_size(v).map(Size).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Interval;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"10s\" or \"500ms\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Interval, E> {
        Err(E::custom(format!("a duration needs a unit: write \"{v}s\" or \"{v}ms\"")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Interval, E> {
        parse_duration(v).map(Interval).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("16KiB"), Ok(16 << 10));
        assert_eq!(parse_size("8 MiB"), Ok(8 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("8MB").unwrap_err().contains("unknown size unit `MB`"));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("17179869184GiB").unwrap_err().contains("too large"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("10d").unwrap_err().contains("unknown duration unit `d`"));
        assert!(parse_duration("s").unwrap_err().contains("not a duration"));
    }
}
