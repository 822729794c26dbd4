//! Calendar arithmetic for China Standard Time (UTC+8, no daylight saving).
//!
//! Government pages show `YYYY-MM-DD HH:MM` in Beijing time whatever zone the
//! server runs in, so the conversion is fixed-offset arithmetic rather than a
//! time-zone database.

use crate::Millis;

const CST_OFFSET_MS: i64 = 8 * 3600 * 1000;

/// A broken-down Beijing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days since 1970-01-01 to (year, month, day); H. Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn to_civil(ms: Millis) -> Civil {
    let local = ms + CST_OFFSET_MS;
    let days = local.div_euclid(86_400_000);
    let rem = local.rem_euclid(86_400_000) / 1000;
    let (year, month, day) = civil_from_days(days);
    Civil { year, month, day, hour: (rem / 3600) as u32, minute: (rem / 60 % 60) as u32, second: (rem % 60) as u32 }
}

/// `YYYY-MM-DD HH:MM`, Beijing time: the format every page shows.
pub fn format_minute(ms: Millis) -> String {
    let c = to_civil(ms);
    format!("{:04}-{:02}-{:02} {:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute)
}

/// `YYYY-MM-DD`, Beijing time.
pub fn format_date(ms: Millis) -> String {
    let c = to_civil(ms);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// RFC 822 date for RSS `pubDate`, expressed in +0800.
pub fn format_rfc822(ms: Millis) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let c = to_civil(ms);
    let weekday = DAYS[((ms + CST_OFFSET_MS).div_euclid(86_400_000)).rem_euclid(7) as usize];
    format!("{weekday}, {:02} {} {:04} {:02}:{:02}:{:02} +0800", c.day, MONTHS[c.month as usize - 1], c.year, c.hour, c.minute, c.second)
}

/// Parses `YYYY-MM-DD` (a calendar date, no time) and checks it exists.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let (ny, nm, _) = civil_from_days(days_from_civil(y, m, d));
    // A day past the month's end rolls into the next month.
    (ny == y && nm == m).then_some((y, m, d))
}

/// A UTC date and time (as certificates give them), in epoch milliseconds.
pub fn utc_to_millis(y: i32, m: u32, d: u32, hour: u32, minute: u32, second: u32) -> Millis {
    days_from_civil(y, m, d) * 86_400_000 + (hour as i64 * 3600 + minute as i64 * 60 + second as i64) * 1000
}

/// Midnight Beijing time of a `YYYY-MM-DD` date, in epoch milliseconds.
pub fn date_to_millis(s: &str) -> Option<Millis> {
    let (y, m, d) = parse_date(s)?;
    Some(days_from_civil(y, m, d) * 86_400_000 - CST_OFFSET_MS)
}

/// Beijing time `YYYY-MM-DD HH:MM[:SS]` (or with `T`) to milliseconds.
pub fn parse_minute(s: &str) -> Option<Millis> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T'])?;
    let day = date_to_millis(date)?;
    let parts: Vec<&str> = time.split(':').collect();
    let num = |p: &str, max: i64| p.parse::<i64>().ok().filter(|n| (0..=max).contains(n) && p.len() == 2);
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (num(h, 23)?, num(m, 59)?, 0),
        [h, m, s] => (num(h, 23)?, num(m, 59)?, num(s, 59)?),
        _ => return None,
    };
    Some(day + ((h * 60 + m) * 60 + sec) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_beijing_time() {
        // 2017-04-25 01:30 UTC is 09:30 in Beijing.
        let ms = date_to_millis("2017-04-25").unwrap() + (9 * 60 + 30) * 60_000;
        assert_eq!(format_minute(ms), "2017-04-25 09:30");
        assert_eq!(format_date(ms), "2017-04-25");
        assert_eq!(format_rfc822(ms), "Tue, 25 Apr 2017 09:30:00 +0800");
        assert_eq!(parse_minute("2017-04-25 09:30"), Some(ms));
        assert_eq!(parse_minute("2017-04-25T09:30:00"), Some(ms));
        assert_eq!(parse_minute("2017-04-25 24:00"), None);
        // Just before midnight UTC is already the next day in Beijing.
        assert_eq!(format_minute(1_514_764_799_000), "2018-01-01 07:59");
    }

    #[test]
    fn parses_only_real_dates() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2017-13-01"), None);
        assert_eq!(parse_date("2017/04/25"), None);
    }
}
