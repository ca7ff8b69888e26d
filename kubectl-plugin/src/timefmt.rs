//! Timestamps and LSNs as CNPG's `recoveryTarget` accepts them.
//!
//! `targetTime` is RFC 3339 or a PostgreSQL timestamp; without a zone it is
//! read as UTC (CNPG `api/v1/cluster_types.go` RecoveryTarget docs).

/// Seconds since the Unix epoch (UTC) of a `targetTime`, or why it is not one.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let bad = |why: &str| {
        format!(
            "'{s}' is not a valid timestamp ({why}); use RFC 3339 like 2026-05-08T20:49:00Z or a PostgreSQL timestamp like '2026-05-08 20:49:00+00'"
        )
    };
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = t.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = num(0, 4).ok_or_else(|| bad("expected YYYY-MM-DD"))?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad("expected YYYY-MM-DD"));
    }
    let month = num(5, 2).ok_or_else(|| bad("bad month"))?;
    let day = num(8, 2).ok_or_else(|| bad("bad day"))?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad("date out of range"));
    }
    let mut secs_of_day = 0i64;
    let mut rest = t.get(10..).unwrap_or("");
    if !rest.is_empty() {
        let sep = rest.as_bytes().first().copied();
        if !matches!(sep, Some(b'T' | b't' | b' ')) {
            return Err(bad("expected 'T' or a space between date and time"));
        }
        let time = rest.get(1..).unwrap_or("");
        let tn = |from: usize| -> Option<i64> {
            let part = time.get(from..from + 2)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let h = tn(0).ok_or_else(|| bad("bad hour"))?;
        if time.as_bytes().get(2) != Some(&b':') {
            return Err(bad("expected HH:MM:SS"));
        }
        let m = tn(3).ok_or_else(|| bad("bad minute"))?;
        let (sec, mut after) = if time.as_bytes().get(5) == Some(&b':') {
            (
                tn(6).ok_or_else(|| bad("bad second"))?,
                time.get(8..).unwrap_or(""),
            )
        } else {
            (0, time.get(5..).unwrap_or(""))
        };
        if h > 23 || m > 59 || sec > 60 {
            return Err(bad("time out of range"));
        }
        if let Some(frac) = after.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("empty fraction"));
            }
            after = frac.get(digits..).unwrap_or("");
        }
        secs_of_day = h * 3600 + m * 60 + sec;
        rest = after;
    }
    let offset = parse_zone(rest.trim_start()).ok_or_else(|| bad("bad time zone"))?;
    Ok(days_from_civil(year, month, day) * 86400 + secs_of_day - offset)
}

fn parse_zone(z: &str) -> Option<i64> {
    match z {
        "" | "Z" | "z" | "UTC" | "utc" => return Some(0),
        _ => {}
    }
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = z.get(1..)?;
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits.get(..2)?.parse().ok()?,
            digits.get(2..)?.parse().ok()?,
        ),
        _ => return None,
    };
    if h > 15 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Formats epoch seconds as RFC 3339 UTC.
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Validates a PostgreSQL LSN like `0/3000060` (two hex parts of 1-8 digits).
pub fn validate_lsn(s: &str) -> Result<(), String> {
    let ok = s.split_once('/').is_some_and(|(a, b)| {
        [a, b]
            .iter()
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_hexdigit()))
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{s}' is not a valid LSN; use the form XXXXXXXX/XXXXXXXX in hex, like 0/3000060 (see pg_current_wal_lsn())"
        ))
    }
}

/// Current time, epoch seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_and_pg_forms() {
        let z = parse_timestamp("2026-05-08T20:49:00Z").unwrap();
        assert_eq!(format_utc(z), "2026-05-08T20:49:00Z");
        assert_eq!(parse_timestamp("2026-05-08 20:49:00").unwrap(), z);
        assert_eq!(parse_timestamp("2026-05-08 22:49:00+02").unwrap(), z);
        assert_eq!(
            parse_timestamp("2026-05-08T22:49:00.123456+02:00").unwrap(),
            z
        );
        assert_eq!(parse_timestamp("2026-05-08 20:49:00 UTC").unwrap(), z);
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z").unwrap(), 0);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30 00:00:00",
            "2026-05-08T25:00:00Z",
            "2026-05-08T20:49:00+99",
            "2026-05-08X20:49",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lsn() {
        assert!(validate_lsn("0/3000060").is_ok());
        assert!(validate_lsn("7/761AA5B0").is_ok());
        assert!(validate_lsn("0x3000060").is_err());
        assert!(validate_lsn("0/").is_err());
        assert!(validate_lsn("123456789/0").is_err());
    }
}
