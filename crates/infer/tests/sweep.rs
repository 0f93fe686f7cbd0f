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
            obj.starts_with(&format!(
                "{batch},\"threads\":1,\"kernel\":\"{kernel}\",\"precision\":\"f32\",\"images_per_second\":"
            )),
            "{obj}"
        );
        for field in [
            "\"min\":",
            "\"max\":",
            "\"gflops\":",
            "\"speedup\":",
            "\"speedup_min\":",
            "\"repeat\":1",
            "\"images\":500",
        ] {
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
        lines[0].starts_with("200 images, 784-50-100-10 network, 1 thread(s), median of 3 interleaved rounds, "),
        "{}",
        r.stdout
    );
    assert!(lines[2].contains("images/s") && lines[2].contains("speedup"), "{}", r.stdout);
    // the first batch size is its own baseline in every round: exactly 1
    assert!(lines[3].trim_start().starts_with("1  ") && lines[3].ends_with("1.00×      1.00–1.00"), "{}", r.stdout);
    // and nothing else, but where the machine changed speed within the
    // rounds (tests running beside this one), the line that says so
    assert!(lines.len() == 5 || (lines.len() == 6 && lines[5].starts_with("unsteady: ")), "{}", r.stdout);
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && chart.ends_with("</svg>\n"));
    assert_eq!(chart.matches("<polyline").count(), 1);
    assert_eq!(chart.matches("<circle").count(), 2);
    std::fs::remove_file(svg).unwrap();
    let _ = root();
}

#[test]
fn thread_counts_are_timed_in_the_same_rounds() {
    let r =
        infer(&["sweep", "--batch-sizes", "1,100", "--threads", "1,2", "--repeat", "2", "--limit", "300", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let objects: Vec<&str> = r.stdout.trim().split("{\"batch_size\":").skip(1).collect();
    assert_eq!(objects.len(), 4, "{}", r.stdout);
    for (obj, (batch, threads)) in objects.iter().zip([(1, 1), (100, 1), (1, 2), (100, 2)]) {
        assert!(obj.starts_with(&format!("{batch},\"threads\":{threads},")), "{obj}");
        // the second count is compared with the first at the same batch size
        assert_eq!(obj.contains("\"vs_first_threads\":"), threads == 2, "{obj}");
    }
    // the first configuration is its own baseline in every round
    assert!(objects[0].contains("\"speedup\":1.000,\"speedup_min\":1.000,\"speedup_max\":1.000,"), "{}", objects[0]);
    let table = infer(&["sweep", "--batch-sizes", "1", "--threads", "1,2", "--repeat", "1", "--limit", "100"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("\n batch  threads  kernel "), "{}", table.stdout);
    assert!(table.stdout.contains("at batch 1: 2 threads against 1: "), "{}", table.stdout);
}

#[test]
fn bad_thread_list() {
    let r = infer(&["sweep", "--threads", "1,two"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, "error: --threads '1,two': 'two' is not a whole number ≥ 0\n"));
    let r = infer(&["sweep", "--threads", "1,300"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, "error: --threads 300 is more than the limit of 256\n"));
}

#[test]
fn bad_batch_list() {
    let r = infer(&["sweep", "--batch-sizes", "1,x"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, "error: --batch-sizes '1,x': 'x' is not a whole number ≥ 1\n"));
}

/// f32 and int8 in one sweep: one object per precision and batch size, the
/// int8 ones named as such, each with its round-by-round speedup.
#[test]
fn f32_and_int8_interleaved() {
    let r = infer(&[
        "sweep",
        "--batch-sizes",
        "1,100",
        "--kernel",
        "naive",
        "--precision",
        "f32,int8",
        "--repeat",
        "2",
        "--limit",
        "300",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let objects: Vec<&str> = r.stdout.split("{\"batch_size\":").skip(1).collect();
    assert_eq!(objects.len(), 4, "{}", r.stdout);
    // int8 runs with the fastest integer pass this CPU has
    let int8 = infer::quant::IntKernel::best().name();
    for (obj, (batch, kernel, precision)) in
        objects.iter().zip([(1, "naive", "f32"), (100, "naive", "f32"), (1, int8, "int8"), (100, int8, "int8")])
    {
        let head = format!("{batch},\"threads\":1,\"kernel\":\"{kernel}\",\"precision\":\"{precision}\",");
        assert!(obj.starts_with(&head), "{obj}");
    }
    assert!(objects[2].contains("\"speedup\":1.000,\"speedup_min\":1.000,\"speedup_max\":1.000"), "{}", objects[2]);
    let r = infer(&["sweep", "--precision", "int4"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: --precision 'int4' is not a precision this CPU runs, expected f32, int8, int8-portable, int8-avx2 or int8-vnni (comma-separated)\n"
        )
    );
}

/// `--breakdown`: a stage table for the f32 kernel and one for the int8
/// pass, each stage a row with ns per image and its share at each batch
/// size, then the total.
#[test]
fn breakdown_tables_for_f32_and_int8() {
    let r = infer(&[
        "sweep",
        "--batch-sizes",
        "1,10",
        "--kernel",
        "naive",
        "--precision",
        "f32,int8",
        "--repeat",
        "2",
        "--limit",
        "100",
        "--breakdown",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let int8 = infer::quant::IntKernel::best().name();
    for (kernel, stages) in [
        (
            "naive",
            &[
                "pixels → f32 (x / 255)",
                "W1 784×50 + b1, sigmoid",
                "W2 50×100 + b2, sigmoid",
                "W3 100×10 + b3",
                "argmax of the logits",
            ][..],
        ),
        (
            int8,
            &[
                "pixels (none: the int8 layers read the u8 pixels)",
                "W1 784×50 + b1, requantized, sigmoid table",
                "W2 50×100 + b2, requantized, sigmoid table",
                "W3 100×10 + b3, requantized",
                "argmax of the logits",
            ][..],
        ),
    ] {
        let head = format!("where the time goes ({kernel}, one thread, ns per image, median of 2 rounds;");
        let at = r.stdout.find(&head).unwrap_or_else(|| panic!("no table for {kernel}: {}", r.stdout));
        let lines: Vec<&str> = r.stdout[at..].lines().collect();
        assert!(lines[1].starts_with("stage") && lines[1].ends_with("batch 1  batch 10"), "{}", lines[1]);
        for (line, stage) in lines[2..].iter().zip(stages) {
            assert!(line.starts_with(stage), "{line} for {stage}");
            // two columns of "ns share%"
            let cells: Vec<&str> = line[stage.len()..].split_whitespace().collect();
            assert_eq!(cells.len(), 4, "{line}");
            assert!(cells[0].parse::<f64>().is_ok() && cells[1].ends_with('%'), "{line}");
        }
        assert!(lines[2 + stages.len()].starts_with("total"), "{}", lines[2 + stages.len()]);
    }
}

/// `--breakdown` on step 23 (where the CPU runs it) adds, at the batch
/// sizes below 6, each layer's cost inside the pass and alone: a row a
/// layer with both, then the layers added up, the pass with no layer, the
/// whole pass and what is left of it, every cell a number of ns. A kernel
/// without step 23's pass (or only batches of 6 and more) prints no such
/// table.
#[test]
fn breakdown_inside_step_23_s_pass() {
    let head = "inside step 23's pass (avx512-pass, one thread, ns per image, median of 2 rounds):";
    assert!(!sweep_breakdown("1,100", "naive", "f32").contains("inside step 23's pass"));
    if !linalg::Kernel::Avx512Pass.is_available() {
        return;
    }
    assert!(!sweep_breakdown("6,100", "avx512-pass", "f32").contains("inside step 23's pass"));
    let out = sweep_breakdown("1,2,100", "avx512-pass", "f32");
    let layers = ["W1 784×50 (u8 pixels) + b1, sigmoid", "W2 50×100 + b2, sigmoid", "W3 100×10 + b3"];
    table_inside_the_pass(&out, head, "batch 1            batch 2", layers);
    let rows = "W1 reads only the rows of the images' non-zero pixels (139.7 of 784 on the mean)";
    let mut want = F32_LAYERS;
    want[0] = ("27935", 784 * 50 * 4, "13968");
    floors_at_batch_1(&out, "avx512-pass", "its cost inside step 23's pass", layers, rows, want);
    assert!(!sweep_breakdown("2,100", "avx512-pass", "f32").contains("what bounds each layer at batch 1"));
}

/// A kernel without step 23's pass gets each layer's floor at batch 1 too,
/// set against its stage; the naive kernel reads every row of W1.
#[test]
fn floors_at_batch_1_beside_the_stages() {
    let out = sweep_breakdown("1,100", "naive", "f32");
    if !linalg::kernels::peak::Isa::Sse2.is_available() {
        // off x86 (make test-aarch64): no peak to set the floors by
        assert!(
            out.contains("what bounds each layer at batch 1 (naive): not measured, this CPU has no sse2 multiply-add loop to time for the floors' peak"),
            "{out}"
        );
        return;
    }
    let layers = ["W1 784×50 + b1, sigmoid", "W2 50×100 + b2, sigmoid", "W3 100×10 + b3"];
    let rows = "W1 reads every row: this kernel does not skip zero inputs";
    floors_at_batch_1(&out, "naive", "its stage at batch 1, clock read included", layers, rows, F32_LAYERS);
    assert!(!sweep_breakdown("2,100", "naive", "f32").contains("what bounds each layer at batch 1"));
}

/// The f32 layers' weights an image at batch 1 (bytes, all of the
/// layer's bytes, FLOP), each row of each layer read: W1's as the naive
/// kernel reads it.
const F32_LAYERS: [(&str, usize, &str); 3] =
    [("156800", 784 * 50 * 4, "78400"), ("20000", 50 * 100 * 4, "10000"), ("4000", 100 * 10 * 4, "2000")];

/// That `out` (`--breakdown` of `kernel` over the first 200 images) has
/// each layer's floor at batch 1, set against `against`, with `rows`, the
/// line that says which of W1's rows it reads (where the kernel skips zero
/// inputs, the rows of the 27,935 non-zero pixels of the 200 images, 200
/// bytes a row, over 200 images): for each layer the bytes of weights it
/// reads an image, the cache they come from (the L1d where all of the
/// layer's `want.1` bytes fit), its FLOPs an image (`want`), the floor the
/// larger of the two times, and the floor against the measured cost.
fn floors_at_batch_1(
    out: &str,
    kernel: &str,
    against: &str,
    layers: [&str; 3],
    rows: &str,
    want: [(&str, usize, &str); 3],
) {
    let head = format!("what bounds each layer at batch 1 ({kernel}, ns per image):");
    let at = out.find(&head).unwrap_or_else(|| panic!("no table of floors: {out}"));
    let lines: Vec<&str> = out[at..].lines().take_while(|l| !l.is_empty()).collect();
    assert!(lines[0].contains(&format!("; {rows}")), "{}", lines[0]);
    assert!(lines[0].contains(&format!("; set against {against}; ")), "{}", lines[0]);
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["layer", "bytes", "from", "at", "rate", "FLOP", "at", "peak", "floor", "measured", "floor", "÷", "measured"]
    );
    let l1d = linalg::kernels::params::l1d_from_sysfs().unwrap_or(linalg::kernels::params::L1D_FALLBACK);
    let from = |weights: usize| if weights <= l1d { "L1d" } else { "L2" };
    let number = |c: &str| c.trim_end_matches('%').parse::<f64>().unwrap_or_else(|_| panic!("{c} in {out}"));
    let mut floors = 0.0;
    for ((line, layer), (bytes, size, flop)) in lines[2..5].iter().zip(layers).zip(want) {
        assert!(line.starts_with(layer), "{line}");
        let cells: Vec<&str> = line[layer.len()..].split_whitespace().collect();
        assert_eq!(cells.len(), 8, "{line}");
        assert_eq!((cells[0], cells[1], cells[3]), (bytes, from(size), flop), "{line}");
        let (read, peak, floor, cost, share) =
            (number(cells[2]), number(cells[4]), number(cells[5]), number(cells[6]), number(cells[7]));
        assert_eq!(floor, read.max(peak), "{line}");
        // the share from the unrounded times: within what the rounding of
        // the printed floor and cost (half a ns each) and its own allow (a
        // cost inside the pass is a difference of two times, which a busy
        // machine can bring near 0)
        assert!(cells[7].ends_with('%'), "{line}");
        if cost >= 2.0 {
            let (lowest, highest) = (100.0 * (floor - 0.5) / (cost + 0.5), 100.0 * (floor + 0.5) / (cost - 0.5));
            assert!((lowest - 0.5..=highest + 0.5).contains(&share), "{line}");
        }
        floors += floor;
    }
    for (line, label) in lines[5..].iter().zip(["the layers, added up", "the whole pass"]) {
        let cells: Vec<f64> = line[label.len()..].split_whitespace().map(number).collect();
        assert_eq!(cells.len(), 3, "{line}");
        assert!((cells[0] - floors).abs() <= 2.0, "{line}");
    }
    assert_eq!(lines.len(), 7, "{out}");
}

/// Steps 25 and 26 read two rows of 16-bit weights for each pair of
/// pixels of which one is not 0 (16,540 pairs in the first 200 images:
/// 16,540 bytes an image, as many FLOP); the int8 VNNI pass a quad of
/// rows of int8 weights (200 bytes for W1's 50 columns, 400 for W2's 100,
/// 64 for W3's 10 padded to 16) for each group of four pixels of which
/// one is not 0 (10,600 quads: 10,600 bytes an image, 21,200 operations),
/// and every quad of the hidden layers, against its cost inside that pass.
#[test]
fn floors_at_batch_1_of_the_fixed_point_and_int8_passes() {
    let layers = ["W1 784×50 (u8 pixels) + b1, sigmoid", "W2 50×100 + b2, sigmoid", "W3 100×10 + b3"];
    let rows = "W1 reads two rows in 16 bits for each pair of pixels of which one is not 0 (82.7 of 392 pairs on the mean), its multiply-adds at ";
    let mut want = F32_LAYERS;
    want[0] = ("16540", 784 * 50 * 2, "16540");
    if linalg::Kernel::Avx512Fixed16.is_available() {
        let out = sweep_breakdown("1,100", "avx512-fixed16", "f32");
        floors_at_batch_1(&out, "avx512-fixed16", "its cost inside step 23's pass", layers, rows, want);
    }
    if !linalg::Kernel::Avx2Fixed16.is_available() {
        return;
    }
    let out = sweep_breakdown("1,100", "avx2-fixed16", "f32");
    floors_at_batch_1(&out, "avx2-fixed16", "its stage at batch 1, clock read included", layers, rows, want);
    if !infer::quant::IntKernel::Vnni.is_available() {
        return;
    }
    let out = sweep_breakdown("1,100", "naive", "int8");
    let layers = [
        "W1 784×50 + b1, requantized, sigmoid table",
        "W2 50×100 + b2, requantized, sigmoid table",
        "W3 100×10 + b3, requantized",
    ];
    let rows = "W1 reads a quad of rows of int8 weights for each group of four pixels of which one is not 0 (53.0 of 196 quads on the mean), the hidden layers every quad";
    let want = [("10600", 196 * 200, "21200"), ("5200", 13 * 400, "10400"), ("1600", 25 * 64, "2000")];
    floors_at_batch_1(&out, "int8-vnni", "its cost inside the VNNI pass", layers, rows, want);
}

/// The output of `infer sweep --breakdown` over the first 200 images, two
/// rounds, at `batches` with f32 `kernel` and `precision`.
fn sweep_breakdown(batches: &str, kernel: &str, precision: &str) -> String {
    let r = infer(&[
        "sweep",
        "--batch-sizes",
        batches,
        "--kernel",
        kernel,
        "--precision",
        precision,
        "--repeat",
        "2",
        "--limit",
        "200",
        "--breakdown",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

/// That `out`, from the line `head` to its end, is `--breakdown`'s table
/// inside a pass at two batch sizes (the header ending in `batches`): a
/// row for each of `layers` with its cost in the pass (ns and share) and
/// alone at each, then the layers added up, the pass with no layer, the
/// whole pass and what is left of it, every cell a number.
fn table_inside_the_pass(out: &str, head: &str, batches: &str, layers: [&str; 3]) {
    let at = out.find(head).unwrap_or_else(|| panic!("no table inside the pass: {out}"));
    let lines: Vec<&str> = out[at..].lines().take_while(|l| !l.is_empty()).collect();
    assert!(lines[1].starts_with("layer") && lines[1].ends_with(batches), "{}", lines[1]);
    assert!(lines[2].trim_start().starts_with("in the pass  alone in the pass  alone"), "{}", lines[2]);
    // (row, numbers in it: a layer "ns share% alone" at each batch size)
    let rows = [
        (layers[0], 6),
        (layers[1], 6),
        (layers[2], 6),
        ("the layers, added up", 4),
        ("no layer: the checks, the loop and the argmax", 2),
        ("the whole pass", 2),
        ("the whole pass less the layers alone and no layer", 2),
    ];
    assert_eq!(lines.len(), 3 + rows.len(), "{out}");
    for (line, (row, cells)) in lines[3..].iter().zip(rows) {
        assert!(line.starts_with(row), "{line} for {row}");
        let got: Vec<&str> = line[row.len()..].split_whitespace().collect();
        assert_eq!(got.len(), cells, "{line}");
        for (j, c) in got.iter().enumerate() {
            let share = cells == 6 && j % 3 == 1;
            let number = c.strip_suffix('%').filter(|_| share).unwrap_or(c);
            assert!(number.parse::<f64>().is_ok() && (share == c.ends_with('%')), "{line}");
        }
    }
}

/// `--breakdown` on the int8 VNNI pass (where the CPU runs it) adds, at
/// every batch size (the pass runs image by image at each), each layer's
/// cost inside the pass and alone, as for step 23: the same rows, every
/// cell a number of ns. The AVX2 pass, which runs each layer over the
/// whole batch, prints no such table.
#[test]
fn breakdown_inside_the_vnni_pass() {
    if linalg::int8::avx2::is_available() {
        assert!(!sweep_breakdown("1,100", "naive", "int8-avx2").contains("inside the VNNI pass"));
    }
    if !linalg::int8::vnni::is_available() {
        return;
    }
    let out = sweep_breakdown("1,100", "naive", "int8-vnni");
    let head = "inside the VNNI pass (int8-vnni, one thread, ns per image, median of 2 rounds):";
    let layers = [
        "W1 784×50 + b1, requantized, sigmoid table",
        "W2 50×100 + b2, requantized, sigmoid table",
        "W3 100×10 + b3, requantized",
    ];
    table_inside_the_pass(&out, head, "batch 1          batch 100", layers);
}
