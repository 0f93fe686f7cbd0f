//! A small SVG line chart: images/s against batch size on a log axis, one
//! line per kernel (and thread count). Plain text, no dependencies; opens
//! in any browser.

use std::fmt::Write;

use crate::cmd::sweep::Point;

const W: f64 = 760.0;
const H: f64 = 460.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The chart as an SVG document.
pub fn throughput_chart(title: &str, points: &[Point]) -> String {
    let xs: Vec<f64> = points.iter().map(|p| p.batch_size as f64).collect();
    let (x0, x1) = (xs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0), xs.iter().copied().fold(1.0, f64::max));
    let (lx0, lx1) = (x0.log10().floor(), x1.log10().ceil().max(x0.log10().floor() + 1.0));
    let ymax = points.iter().map(|p| p.max).fold(1.0, f64::max);
    let step = nice_step(ymax / 5.0);
    let ytop = (ymax / step).ceil() * step;
    let px = |x: f64| LEFT + (x.log10() - lx0) / (lx1 - lx0) * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - y / ytop * (H - TOP - BOTTOM);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#, W / 2.0, escape(title));
    // y grid and labels
    let mut y = 0.0;
    while y <= ytop + step / 2.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            py(y),
            W - RIGHT,
            LEFT - 8.0,
            py(y) + 4.0,
            group_thousands(y)
        );
        y += step;
    }
    // x grid: 1, 2, 5 per decade
    let mut decade = lx0 as i32;
    while decade as f64 <= lx1 {
        for m in [1.0, 2.0, 5.0] {
            let x = m * 10f64.powi(decade);
            if x.log10() > lx1 + 1e-9 {
                break;
            }
            let _ = writeln!(
                s,
                r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" stroke="#eee"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"##,
                px(x),
                H - BOTTOM,
                H - BOTTOM + 18.0,
                if x >= 1000.0 { format!("{}k", x / 1000.0) } else { group_thousands(x) }
            );
        }
        decade += 1;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">batch size (images per forward pass, log scale)</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 16.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">images/s (median; bars: min–max)</text>"#,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    // one line per kernel and thread count (named with its threads when the
    // sweep has several counts)
    let mut series: Vec<_> = points.iter().map(|p| (p.kernel, p.threads)).collect();
    series.dedup();
    let several_counts = series.iter().any(|&(_, t)| t != series[0].1);
    for (i, &(k, threads)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let name = if several_counts { format!("{}, {threads} thread(s)", k.name()) } else { k.name().to_string() };
        let pts: Vec<&Point> = points.iter().filter(|p| (p.kernel, p.threads) == (k, threads)).collect();
        let path: Vec<String> =
            pts.iter().map(|p| format!("{:.1},{:.1}", px(p.batch_size as f64), py(p.median))).collect();
        let _ = writeln!(s, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, path.join(" "));
        for p in pts {
            let x = px(p.batch_size as f64);
            let _ = writeln!(
                s,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{color}"/><circle cx="{x:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} batch {}: {:.0} images/s</title></circle>"#,
                py(p.min),
                py(p.max),
                py(p.median),
                name,
                p.batch_size,
                p.median
            );
        }
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{ly}" x2="{1}" y2="{ly}" stroke="{color}" stroke-width="2"/><text x="{2}" y="{3}">{4}</text>"#,
            W - RIGHT + 12.0,
            W - RIGHT + 36.0,
            W - RIGHT + 42.0,
            ly + 4.0,
            name
        );
    }
    s.push_str("</svg>\n");
    s
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p)
}

/// `1234567` as `1,234,567`.
pub fn group_thousands(v: f64) -> String {
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
