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
    /// anywhere returns `Ok(None)`.
    ///
    /// # Errors
    /// An unknown flag, or a value flag without its value.
    pub fn parse(command: &'static str, flags: &[Flag], args: &[String]) -> Result<Option<Args>, Failure> {
        let mut out = Args { command, values: Vec::new(), switches: Vec::new(), positional: Vec::new() };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg == "--help" || arg == "-h" {
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
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| Failure(format!("--{n} needs a value (see 'infer {command} --help')")))?,
                    };
                    out.values.push((n, v));
                }
                Some(Flag::Switch(n)) => {
                    if inline.is_some() {
                        crate::fail!("--{n} takes no value (see 'infer {command} --help')");
                    }
                    out.switches.push(n);
                }
                None => crate::fail!("unknown flag '{arg}' for 'infer {command}' (see 'infer {command} --help')"),
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
