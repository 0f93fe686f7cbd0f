//! `infer sweep`: the table, the JSON fields and the SVG chart.

mod common;

use common::{infer, root};

#[test]
fn json_has_one_object_per_kernel_and_batch_size() {
    let r = infer(&[
        "sweep",
        "--batch-sizes",
        "1,7,100",
        "--kernel",
        "naive,avx2",
        "--repeat",
        "1",
        "--limit",
        "500",
        "--json",
    ]);
    if r.code != 0 && r.stderr.contains("lacks") {
        return; // no AVX2 on this CPU
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = r.stdout.trim();
    assert!(out.starts_with('[') && out.ends_with(']'), "{out}");
    let objects: Vec<&str> = out.split("{\"batch_size\":").skip(1).collect();
    assert_eq!(objects.len(), 6, "{out}");
    for (obj, (batch, kernel)) in
        objects.iter().zip([(1, "naive"), (7, "naive"), (100, "naive"), (1, "avx2"), (7, "avx2"), (100, "avx2")])
    {
        assert!(
            obj.starts_with(&format!("{batch},\"threads\":1,\"kernel\":\"{kernel}\",\"images_per_second\":")),
            "{obj}"
        );
        for field in ["\"min\":", "\"max\":", "\"gflops\":", "\"speedup\":", "\"repeat\":1", "\"images\":500"] {
            assert!(obj.contains(field), "{field} missing in {obj}");
        }
    }
}

#[test]
fn table_and_chart() {
    let svg = std::env::temp_dir().join(format!("infer-sweep-{}.svg", std::process::id()));
    let r =
        infer(&["sweep", "--batch-sizes", "1,10", "--repeat", "3", "--limit", "200", "--plot", svg.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("200 images, 784-50-100-10 network, 1 thread(s), median of 3 passes, "),
        "{}",
        r.stdout
    );
    assert!(lines[2].contains("images/s") && lines[2].contains("speedup"), "{}", r.stdout);
    assert!(lines[3].trim_start().starts_with("1  ") && lines[3].ends_with("1.00×"), "{}", r.stdout);
    assert_eq!(lines.len(), 5);
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && chart.ends_with("</svg>\n"));
    assert_eq!(chart.matches("<polyline").count(), 1);
    assert_eq!(chart.matches("<circle").count(), 2);
    std::fs::remove_file(svg).unwrap();
    let _ = root();
}

#[test]
fn bad_batch_list() {
    let r = infer(&["sweep", "--batch-sizes", "1,x"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, "error: --batch-sizes '1,x': 'x' is not a whole number ≥ 1\n"));
}
