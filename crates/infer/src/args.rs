//! A small command-line parser: `--flag VALUE`, `--flag=VALUE`, switches and
//! repeatable flags, with one-line errors.

use crate::Failure;

/// The flags of one command, parsed against its specification.
#[derive(Debug)]
pub struct Args {
    command: &'static str,
    values: Vec<(&'static str, String)>,
    switches: Vec<&'static str>,
    /// Arguments that are not flags, in order.
    pub positional: Vec<String>,
}

/// One flag a command accepts.
#[derive(Clone, Copy, Debug)]
pub enum Flag {
    /// `--name VALUE`, may be repeated if the command says so.
    Value(&'static str),
    /// `--name`, no value.
    Switch(&'static str),
}

impl Args {
    /// Parses `args` for `command`, which accepts `flags`. `--help` / `-h`
    /// anywhere prints `help`, `--version` / `-V` prints the version; both
    /// return `Ok(None)`.
    ///
    /// # Errors
    /// An unknown flag (with the nearest real one), or a value flag without
    /// its value.
    pub fn parse(command: &'static str, flags: &[Flag], args: &[String], help: &str) -> Result<Option<Args>, Failure> {
        let mut out = Args { command, values: Vec::new(), switches: Vec::new(), positional: Vec::new() };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg == "--help" || arg == "-h" {
                crate::out!("{help}");
                return Ok(None);
            }
            if arg == "--version" || arg == "-V" {
                crate::outln!("{}", crate::VERSION);
                return Ok(None);
            }
            let Some(body) = arg.strip_prefix("--") else {
                out.positional.push(arg.clone());
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            match flags.iter().find(|f| matches!(f, Flag::Value(n) | Flag::Switch(n) if *n == name)) {
                Some(Flag::Value(n)) => {
                    let v = match inline {
                        Some(v) => v,
                        None => match it.next() {
                            // `--predictions --json` forgot the value; `--flag=--x` still passes one
                            Some(v) if v.starts_with("--") && v.len() > 2 => {
                                crate::fail!("--{n} needs a value, found the flag '{v}' (see 'infer {command} --help')")
                            }
                            Some(v) => v.clone(),
                            None => crate::fail!("--{n} needs a value (see 'infer {command} --help')"),
                        },
                    };
                    out.values.push((n, v));
                }
                Some(Flag::Switch(n)) => {
                    if inline.is_some() {
                        crate::fail!("--{n} takes no value (see 'infer {command} --help')");
                    }
                    out.switches.push(n);
                }
                None => {
                    let names = flags.iter().map(|f| match f {
                        Flag::Value(n) | Flag::Switch(n) => *n,
                    });
                    let hint = nearest(name, names.chain(["help", "version"]))
                        .map_or(String::new(), |n| format!(", did you mean --{n}?"));
                    crate::fail!("unknown flag '{arg}' for 'infer {command}'{hint} (see 'infer {command} --help')")
                }
            }
        }
        Ok(Some(out))
    }

    /// Every value given for `--name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.values.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The value of `--name`; the last one if given twice.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).last().copied()
    }

    /// Whether the switch `--name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    /// `--name` parsed as a whole number of at least `min`, or `default`.
    ///
    /// # Errors
    /// A value that is not such a number.
    pub fn number(&self, name: &str, min: usize, default: usize) -> Result<usize, Failure> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(Failure(format!(
                    "--{name} '{v}' is not a whole number ≥ {min} (see 'infer {} --help')",
                    self.command
                ))),
            },
        }
    }

    /// Fails if any positional argument was given.
    ///
    /// # Errors
    /// Names the first unexpected argument.
    pub fn no_positional(&self) -> Result<(), Failure> {
        match self.positional.first() {
            None => Ok(()),
            Some(p) => Err(Failure(format!(
                "unexpected argument '{p}' for 'infer {}' (see 'infer {} --help')",
                self.command, self.command
            ))),
        }
    }
}

/// The candidate nearest to `word` by edit distance, if it is near enough
/// to be a likely typo (or `word` is the start of exactly one candidate).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let prefixed: Vec<&str> = candidates.iter().copied().filter(|c| !word.is_empty() && c.starts_with(word)).collect();
    if let [only] = prefixed[..] {
        return Some(only);
    }
    let limit = (word.chars().count() / 3).clamp(2, 3);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters (insert, delete, substitute).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_prefixes() {
        let flags = ["batch-size", "limit", "threads", "kernel", "json", "report"];
        assert_eq!(nearest("batchsize", flags), Some("batch-size"));
        assert_eq!(nearest("batch", flags), Some("batch-size"));
        assert_eq!(nearest("thread", flags), Some("threads"));
        assert_eq!(nearest("jsno", flags), Some("json"));
        assert_eq!(nearest("colour", flags), None);
        assert_eq!(nearest("", flags), None);
    }
}
