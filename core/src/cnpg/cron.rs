//! ScheduledBackup schedules as CNPG parses them.
//!
//! CNPG calls `cron.Parse` from github.com/robfig/cron **v1.2.0** (cnpg@v1.30.0
//! `go.mod:30`, `internal/webhook/v1/scheduledbackup_webhook.go:138`), whose
//! default parser is `Second | Minute | Hour | Dom | Month | DowOptional | Descriptor`
//! (cron@v1.2.0 `parser.go:174-186`): it accepts 5 or 6 fields and fills them
//! left to right starting at SECONDS (`:141-156`; `docs/cnpg.md` §8). So `0 3 * * *` is second 0, minute 3, every
//! hour — not 03:00 daily as a Kubernetes CronJob would read it.

/// The descriptors robfig/cron v1.2.0 accepts, exactly (cron@v1.2.0
/// `parser.go:317-368`), plus `@every <duration>` (`:370-377`).
pub const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// The shape of a schedule string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `@daily`, `@every 1h`, ...
    Descriptor,
    /// The intended 6-field form `sec min hour dom month dow`.
    SixFields,
    /// 5 fields: robfig reads them as `sec min hour dom month`.
    FiveFields {
        /// What CNPG will actually do, in words.
        reading: String,
        /// The 6-field schedule the author most likely meant.
        intended: String,
    },
    /// robfig rejects it: the ScheduledBackup is refused (or never runs).
    Invalid {
        /// robfig's own error text.
        error: String,
        /// How to write it instead.
        hint: String,
    },
}

/// Classifies a schedule the way robfig/cron v1.2.0 `Parse` reads it. The
/// string is NOT trimmed: CNPG passes `spec.schedule` verbatim
/// (`api/v1/scheduledbackup_funcs.go:62-64`) and robfig tests `spec[0] == '@'`
/// before splitting (`parser.go:82`), so `"@daily "` and `" @daily"` fail.
pub fn classify(spec: &str) -> Schedule {
    let invalid = |error: String, hint: &str| Schedule::Invalid {
        error,
        hint: hint.to_string(),
    };
    if spec.is_empty() {
        return invalid(
            "Empty spec string".into(),
            "write 6 fields with seconds first, e.g. '0 0 3 * * *' for 03:00 daily",
        );
    }
    if spec.starts_with('@') {
        if DESCRIPTORS.contains(&spec) {
            return Schedule::Descriptor;
        }
        if let Some(dur) = spec.strip_prefix("@every ") {
            return if go_duration_ok(dur) {
                Schedule::Descriptor
            } else {
                invalid(
                    format!("Failed to parse duration {spec}"),
                    "write a Go duration such as '@every 6h' or '@every 1h30m'",
                )
            };
        }
        return invalid(
            format!("Unrecognized descriptor: {spec}"),
            &format!(
                "use one of {} or '@every <duration>' exactly (no surrounding spaces), or 6 fields with seconds first",
                DESCRIPTORS.join(", ")
            ),
        );
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    match fields.as_slice() {
        [_, _, _, _, _, _] => Schedule::SixFields,
        [sec, min, hour, dom, month] => {
            let mut reading =
                format!("second={sec} minute={min} hour={hour} day-of-month={dom} month={month}");
            if *hour == "*" {
                reading.push_str(&format!(": it runs EVERY HOUR at minute {min}"));
            }
            if *month != "*" {
                reading.push_str(&format!(
                    ", only in month {month} (or is rejected if {month} is not 1-12)"
                ));
            }
            Schedule::FiveFields {
                reading,
                intended: format!("0 {}", fields.join(" ")),
            }
        }
        other => {
            let trimmed = spec.trim();
            let hint = if trimmed.starts_with('@') {
                "remove the spaces before the descriptor"
            } else {
                "write 6 fields with seconds first (second minute hour day-of-month month day-of-week), e.g. '0 0 3 * * *' for 03:00 daily, or a descriptor like @daily"
            };
            invalid(
                format!("Expected 5 to 6 fields, found {}: {spec}", other.len()),
                hint,
            )
        }
    }
}

/// Go `time.ParseDuration` syntax: `[-+]?([0-9]*(\.[0-9]*)?unit)+` with
/// units ns, us, µs, μs, ms, s, m, h, or a bare `0` (what `@every` takes,
/// and what kubectl's `--request-timeout` takes besides plain seconds).
pub fn go_duration_ok(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return false;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
            return false;
        }
        rest = after;
    }
    true
}

/// The longest time between two consecutive runs of a schedule that CNPG
/// accepts, in seconds; `None` when robfig rejects it or it never fires
/// (`0 0 0 30 2 *`). Five fields are read as robfig reads them (seconds
/// first). Field syntax is robfig v1.2's (cron@v1.2.0 `parser.go:190-280`):
/// `*`, `?`, `a`, `a-b`, `*/n`, `a/n` (= `a-max/n`), `a-b/n`, comma lists,
/// month and weekday names; day-of-month and day-of-week match with OR when
/// both are restricted and AND when either is `*`/`?` (`spec.go:dayMatches`).
/// Descriptors: `@hourly` 1h, `@daily` 1d, `@weekly` 7d, `@monthly` 31d,
/// `@yearly` 366d, `@every d` = d.
pub fn max_interval_secs(spec: &str) -> Option<u64> {
    const DAY: u64 = 86_400;
    match spec {
        "@hourly" => return Some(3_600),
        "@daily" | "@midnight" => return Some(DAY),
        "@weekly" => return Some(7 * DAY),
        "@monthly" => return Some(31 * DAY),
        "@yearly" | "@annually" => return Some(366 * DAY),
        _ => {}
    }
    if let Some(d) = spec.strip_prefix("@every ") {
        return go_duration_secs(d).filter(|s| *s > 0);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    let (sec, min, hour, dom, month, dow) = match fields.as_slice() {
        [s, m, h, d, mo, w] => (*s, *m, *h, *d, *mo, *w),
        [s, m, h, d, mo] => (*s, *m, *h, *d, *mo, "*"),
        _ => return None,
    };
    let secs = field(sec, 0, 59, &[])?;
    let mins = field(min, 0, 59, &[])?;
    let hours = field(hour, 0, 23, &[])?;
    let doms = field(dom, 1, 31, &[])?;
    let months = field(month, 1, 12, &MONTHS)?;
    let dows = field(dow, 0, 6, &DAYS)?;
    let star = |f: &str| f.starts_with('*') || f.starts_with('?');
    let (dom_star, dow_star) = (star(dom), star(dow));
    let mut times = Vec::new();
    for h in 0..24u64 {
        for m in 0..60u64 {
            for s in 0..60u64 {
                if bit(hours, h) && bit(mins, m) && bit(secs, s) {
                    times.push(h * 3_600 + m * 60 + s);
                }
            }
        }
    }
    let (first, last) = (*times.first()?, *times.last()?);
    let mut gap = times
        .windows(2)
        .filter_map(|w| Some(w.get(1)? - w.first()?))
        .max()
        .unwrap_or(0);
    // Four years from 2024-01-01 (a Monday), so every leap-year and
    // weekday/day-of-month combination occurs.
    let mut previous: Option<u64> = None;
    let (mut y, mut mo, mut d, mut wd) = (2024u64, 1u64, 1u64, 1u64);
    for day in 0..(4 * 366u64) {
        let dom_ok = bit(doms, d);
        let dow_ok = bit(dows, wd);
        let day_ok = if dom_star || dow_star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        };
        if bit(months, mo) && day_ok {
            if let Some(p) = previous {
                gap = gap.max((day - p) * DAY + first - last);
            }
            previous = Some(day);
        }
        wd = (wd + 1) % 7;
        d += 1;
        if d > days_in_month(y, mo) {
            d = 1;
            mo += 1;
            if mo > 12 {
                mo = 1;
                y += 1;
            }
        }
    }
    previous?;
    // A schedule that fires on one day of the period only (`0 0 0 29 2 *`)
    // recurs every four years at most.
    Some(if gap == 0 { 4 * 365 * DAY } else { gap })
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn bit(set: u64, n: u64) -> bool {
    n < 64 && set & (1 << n) != 0
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// One robfig field as a bit set; `names` map to `lo + index` (months start
/// at 1, weekdays at 0), case-insensitively.
fn field(text: &str, lo: u64, hi: u64, names: &[&str]) -> Option<u64> {
    let value = |s: &str| -> Option<u64> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Some(lo + i as u64);
        }
        s.parse::<u64>().ok()
    };
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (r, Some(st.parse::<u64>().ok().filter(|n| *n > 0)?)),
            None => (part, None),
        };
        let (start, end) = if range == "*" || range == "?" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let a = value(range)?;
            (a, if step.is_some() { hi } else { a })
        };
        if start < lo || end > hi || start > end {
            return None;
        }
        let mut n = start;
        while n <= end {
            set |= 1 << n;
            n += step.unwrap_or(1);
        }
    }
    Some(set)
}

/// A Go duration in whole seconds (`1h30m` = 5400), `None` when invalid.
pub fn go_duration_secs(s: &str) -> Option<u64> {
    if !go_duration_ok(s) || s.starts_with('-') {
        return None;
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(rest.len(), |(i, _)| i);
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let n: f64 = num.parse().ok()?;
        let scale = match unit {
            "h" => 3_600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * scale;
        rest = after;
    }
    // Whole seconds are all a backup interval needs.
    Some(total as u64)
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn max_intervals() {
        const H: u64 = 3_600;
        const D: u64 = 86_400;
        for (spec, want) in [
            ("0 0 3 * * *", Some(D)),
            ("0 30 2 * * 0", Some(7 * D)),
            ("0 0 3 * * sun", Some(7 * D)),
            ("0 0 0 1 * *", Some(31 * D)),
            ("0 0 */6 * * *", Some(6 * H)),
            ("0 0 1,13 * * *", Some(12 * H)),
            ("0 3 * * *", Some(H)),
            ("@daily", Some(D)),
            ("@every 36h", Some(36 * H)),
            ("@every 1h30m", Some(5_400)),
            ("0 0 0 1 1 *", Some(366 * D)),
            ("0 0 0 30 2 *", None),
            ("0 0 0 1,15 * mon", Some(7 * D)),
            ("0 0 25 * * *", None),
            ("nonsense", None),
            ("0 0 0 * * 1-5", Some(3 * D)),
        ] {
            assert_eq!(max_interval_secs(spec), want, "{spec}");
        }
    }

    #[test]
    fn five_fields_are_read_seconds_first() {
        match classify("0 3 * * *") {
            Schedule::FiveFields { reading, intended } => {
                assert!(reading.contains("EVERY HOUR"), "{reading}");
                assert_eq!(intended, "0 0 3 * * *");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn six_fields_and_descriptors_are_fine() {
        assert_eq!(classify("0 0 3 * * *"), Schedule::SixFields);
        assert_eq!(classify(" 0 0 3 * * * "), Schedule::SixFields);
        for ok in [
            "@daily",
            "@annually",
            "@every 1h",
            "@every 1h30m",
            "@every 1.5s",
            "@every 0",
        ] {
            assert_eq!(classify(ok), Schedule::Descriptor, "{ok}");
        }
    }

    #[test]
    fn robfig_rejections_keep_its_wording() {
        let cases = [
            ("", "Empty spec string"),
            ("* *", "Expected 5 to 6 fields, found 2: * *"),
            (" @daily", "Expected 5 to 6 fields, found 1:  @daily"),
            ("@daily ", "Unrecognized descriptor: @daily "),
            ("@nightly", "Unrecognized descriptor: @nightly"),
            ("@every 1d", "Failed to parse duration @every 1d"),
            ("@every h", "Failed to parse duration @every h"),
        ];
        for (spec, want) in cases {
            match classify(spec) {
                Schedule::Invalid { error, .. } => assert_eq!(error, want, "{spec:?}"),
                other => panic!("{spec:?}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn month_field_is_called_out() {
        match classify("30 2 * * 1") {
            Schedule::FiveFields { reading, .. } => assert!(reading.contains("only in month 1")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
