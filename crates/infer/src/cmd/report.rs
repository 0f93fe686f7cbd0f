//! What the network gets wrong: the confusion matrix, precision and recall,
//! the most confused pairs, and a picture of every misclassified digit.

use std::fmt::Write;

use mnist_data::Images;

use crate::png::{self, Gray};

/// The confusion matrix as text: `m[t][p]` counts images of true class `t`
/// predicted as `p`; then precision and recall per class and the five most
/// confused pairs.
pub fn confusion(labels: &[u8], predictions: &[u8], classes: usize) -> String {
    let m = matrix(labels, predictions, classes);
    let mut s = String::new();
    let _ = writeln!(s, "\nconfusion matrix (rows: true digit, columns: predicted)");
    let _ = write!(s, "      ");
    for p in 0..classes {
        let _ = write!(s, "{p:>6}");
    }
    let _ = writeln!(s, "   recall");
    for (t, row) in m.iter().enumerate() {
        let _ = write!(s, "{t:>6}");
        for &n in row {
            let _ = write!(s, "{n:>6}");
        }
        let total: usize = row.iter().sum();
        let _ = writeln!(s, "   {:.4}", ratio(row[t], total));
    }
    let _ = write!(s, "precis");
    for p in 0..classes {
        let predicted: usize = m.iter().map(|row| row[p]).sum();
        let _ = write!(s, "{:>6.3}", ratio(m[p][p], predicted));
    }
    let correct: usize = (0..classes).map(|c| m[c][c]).sum();
    let _ = writeln!(s, "\n\ndiagonal (correct): {correct} of {}", labels.len());
    let mut pairs: Vec<(usize, usize, usize)> = (0..classes)
        .flat_map(|t| (0..classes).map(move |p| (t, p)))
        .filter(|(t, p)| t != p)
        .map(|(t, p)| (m[t][p], t, p))
        .collect();
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let top: Vec<String> = pairs.iter().take(5).map(|(n, t, p)| format!("{t}→{p} ×{n}")).collect();
    let _ = writeln!(s, "most confused (true→predicted): {}\n", top.join(", "));
    s
}

/// Where the int8 network's predictions differ from the f32 network's: how
/// many, how many of those each got right, and the first few images.
pub fn precision_differences(labels: &[u8], f32: &[u8], int8: &[u8]) -> String {
    let differ: Vec<usize> = (0..labels.len()).filter(|&i| f32[i] != int8[i]).collect();
    let f32_right = differ.iter().filter(|&&i| f32[i] == labels[i]).count();
    let int8_right = differ.iter().filter(|&&i| int8[i] == labels[i]).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "int8 against f32: {} of {} images predicted differently; f32 right on {f32_right} of them, int8 on {int8_right}",
        differ.len(),
        labels.len()
    );
    let shown: Vec<String> =
        differ.iter().take(20).map(|&i| format!("#{i} label {} f32 {} int8 {}", labels[i], f32[i], int8[i])).collect();
    if !shown.is_empty() {
        let more = if differ.len() > shown.len() {
            format!(", … {} more", differ.len() - shown.len())
        } else {
            String::new()
        };
        let _ = writeln!(s, "  {}{more}\n", shown.join(", "));
    }
    s
}

/// `m[t][p]`: how many images of true class `t` were predicted as `p`.
pub fn matrix(labels: &[u8], predictions: &[u8], classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0usize; classes]; classes];
    for (&t, &p) in labels.iter().zip(predictions) {
        m[t as usize][p as usize] += 1;
    }
    m
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Columns of the misclassified grid.
const COLUMNS: usize = 30;

/// Every misclassified image in file order, 30 to a row, each under a tag
/// `true>predicted` in a 3×5 pixel font.
pub fn misclassified_grid(images: &Images, labels: &[u8], predictions: &[u8]) -> Gray {
    let wrong: Vec<usize> = (0..predictions.len()).filter(|&i| predictions[i] != labels[i]).collect();
    let (w, h) = (images.cols, images.rows);
    let (cell_w, cell_h) = (w + 2, h + 9); // 7 rows of tag, 2 of gap
    let rows = wrong.len().div_ceil(COLUMNS).max(1);
    let mut img = Gray::new(COLUMNS * cell_w, rows * cell_h, 48);
    for (n, &i) in wrong.iter().enumerate() {
        let (x, y) = ((n % COLUMNS) * cell_w, (n / COLUMNS) * cell_h);
        img.blit(&vec![0; w * 7], w, 7, x, y, 1);
        png::text(&mut img, &format!("{}>{}", labels[i], predictions[i]), x + 1, y + 1, 255);
        img.blit(images.image(i), w, h, x, y + 7, 1);
    }
    img
}
