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

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

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
