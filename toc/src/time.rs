//! The `modtime` field: formatting as the reference writes it, and parsing as it reads it.
//!
//! The reference writes a tar header's modification time as RFC 3339 in UTC, rounded to the
//! nearest second (exact halves round up), with a `Z` suffix, and leaves the field empty when
//! the time is the zero time or within the first second after the Unix epoch. Readers accept
//! any RFC 3339 time, including fractional seconds and numeric offsets.

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Formats a modification time, given as whole seconds since the Unix epoch (rounded down)
/// and nanoseconds past that second, the way the reference writes `modtime`.
///
/// Returns an empty string when `secs` is 0, as the reference does.
///
/// ```
/// use estargz_toc::time::format_modtime;
/// assert_eq!(format_modtime(1_600_000_000, 0), "2020-09-13T12:26:40Z");
/// assert_eq!(format_modtime(7, 500_000_000), "1970-01-01T00:00:08Z");
/// assert_eq!(format_modtime(0, 900_000_000), "");
/// assert_eq!(format_modtime(-3600, 0), "1969-12-31T23:00:00Z");
/// ```
pub fn format_modtime(secs: i64, nanos: u32) -> String {
    if secs == 0 {
        return String::new();
    }
    let rounded = secs.saturating_add(i64::from(nanos >= 500_000_000));
    let days = rounded.div_euclid(DAY);
    let in_day = rounded.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(20);
    if year < 0 {
        out.push('-');
    }
    out.push_str(&format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        year.unsigned_abs(),
        month,
        day,
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    ));
    out
}

/// Parses an RFC 3339 time as the reference's reader does, returning whole seconds since
/// the Unix epoch (rounded down) and nanoseconds past that second, in UTC.
///
/// Returns `None` for anything that is not RFC 3339 (the reference ignores such values).
///
/// ```
/// use estargz_toc::time::parse_modtime;
/// assert_eq!(parse_modtime("2020-09-13T12:26:40Z"), Some((1_600_000_000, 0)));
/// assert_eq!(parse_modtime("2020-09-13T14:26:40.25+02:00"), Some((1_600_000_000, 250_000_000)));
/// assert_eq!(parse_modtime("yesterday"), None);
/// ```
pub fn parse_modtime(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        let mut value = 0i64;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(d - b'0');
        }
        Some(value)
    };
    let separators_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't'))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !separators_ok {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = b.get(19..)?;
    let mut nanos = 0u32;
    if let Some((&b'.', fraction)) = rest.split_first() {
        let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, &d) in fraction.iter().take(digits).enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
        }
        for _ in digits..9 {
            nanos *= 10;
        }
        rest = fraction.get(digits..)?;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let magnitude = h * 3600 + m * 60;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * DAY + hour * 3600 + minute * 60 + second - offset;
    Some((secs, nanos))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March so that the leap day is the last day of the counted year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_modtime(1, 0), "1970-01-01T00:00:01Z");
        assert_eq!(format_modtime(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(format_modtime(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(format_modtime(-1, 500_000_000), "1970-01-01T00:00:00Z");
        assert_eq!(format_modtime(-62_135_596_800, 0), "0001-01-01T00:00:00Z");
        assert_eq!(format_modtime(253_402_300_799, 0), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2020-02-30T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-01-01 00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:00",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00+0100",
            "2020-01-01T00:00:00Zjunk",
            "２０２０-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_modtime(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let text = format_modtime(secs, nanos);
            if secs == 0 {
                prop_assert_eq!(text, "");
            } else {
                let rounded = secs + i64::from(nanos >= 500_000_000);
                prop_assert_eq!(parse_modtime(&text), Some((rounded, 0)));
            }
        }

        #[test]
        fn fractions_keep_nanos(secs in 1i64..4_000_000_000, nanos in 0u32..1_000_000_000) {
            let whole = format_modtime(secs, 0);
            let text = format!("{}.{:09}Z", &whole[..19], nanos);
            prop_assert_eq!(parse_modtime(&text), Some((secs, nanos)));
        }
    }
}
