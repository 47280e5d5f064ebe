//! Stamps the build date into the binary for the `srvr`/`envi` version line.

fn main() {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let hm = secs % 86_400;
    println!(
        "cargo:rustc-env=ZKSERVER_BUILD_DATE={y:04}-{m:02}-{d:02} {:02}:{:02}",
        hm / 3600,
        hm % 3600 / 60
    );
    println!("cargo:rerun-if-changed=build.rs");
}
