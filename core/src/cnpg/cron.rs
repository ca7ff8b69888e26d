//! ScheduledBackup schedules as CNPG parses them.
//!
//! CNPG calls `cron.Parse` from github.com/robfig/cron **v1.2.0**
//! (`internal/webhook/v1/scheduledbackup_webhook.go:138`), whose default parser
//! is `Second | Minute | Hour | Dom | Month | DowOptional | Descriptor`
//! (robfig `parser.go:174-186`): it accepts 5 or 6 fields and fills them left
//! to right starting at SECONDS. So `0 3 * * *` is second 0, minute 3, every
//! hour — not 03:00 daily as a Kubernetes CronJob would read it.

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
    /// Anything else: robfig rejects it ("Expected 5 to 6 fields").
    Invalid {
        /// Number of whitespace-separated fields found.
        fields: usize,
    },
}

/// Classifies a schedule the way robfig/cron v1.2.0 `Parse` would split it.
pub fn classify(spec: &str) -> Schedule {
    let spec = spec.trim();
    if spec.starts_with('@') {
        return Schedule::Descriptor;
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
                intended: format!("0 {spec}"),
            }
        }
        other => Schedule::Invalid {
            fields: other.len(),
        },
    }
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
        assert_eq!(classify(" @daily "), Schedule::Descriptor);
        assert_eq!(classify("@every 1h"), Schedule::Descriptor);
        assert_eq!(classify("* *"), Schedule::Invalid { fields: 2 });
    }

    #[test]
    fn month_field_is_called_out() {
        match classify("30 2 * * 1") {
            Schedule::FiveFields { reading, .. } => assert!(reading.contains("only in month 1")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
