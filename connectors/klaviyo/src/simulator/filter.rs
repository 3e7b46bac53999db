//! A parser for Klaviyo's filter expressions (`?filter=`): `op(field,value)` conditions,
//! combined by commas or `and(…)`. Values are quoted strings (`"…"` or `'…'`, backslash
//! escapes), lists of strings (`["a","b"]`), or bare words (numbers, booleans and
//! datetimes, which Klaviyo wants unquoted). Which field takes which operator is the
//! endpoint's business.

/// A filter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// A quoted string.
    Str(String),
    /// A list of quoted strings.
    List(Vec<String>),
    /// An unquoted word: number, boolean or datetime.
    Bare(String),
}

/// One condition, e.g. `any(email,["a@x.dk"])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cond {
    /// The operator, e.g. `any`.
    pub op: String,
    /// The field, e.g. `email`.
    pub field: String,
    /// The value.
    pub arg: Arg,
}

/// The conditions of `input`, all of which must hold.
pub(crate) fn parse(input: &str) -> Result<Vec<Cond>, String> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    let conds = p.conjunction()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected input at position {}", p.i));
    }
    Ok(conds)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at position {}", c as char, self.i))
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn word(&mut self) -> Result<String, String> {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"_.-$".contains(b))
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected a name at position {start}"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn conjunction(&mut self) -> Result<Vec<Cond>, String> {
        let mut out = self.expr()?;
        while self.peek() == Some(b',') {
            self.i += 1;
            out.extend(self.expr()?);
        }
        Ok(out)
    }

    fn expr(&mut self) -> Result<Vec<Cond>, String> {
        let op = self.word()?;
        self.eat(b'(')?;
        if op == "and" {
            let inner = self.conjunction()?;
            self.eat(b')')?;
            return Ok(inner);
        }
        if op == "or" || op == "not" {
            return Err(format!("`{op}` is not a supported operation"));
        }
        let field = self.word()?;
        self.eat(b',')?;
        let arg = self.arg()?;
        self.eat(b')')?;
        Ok(vec![Cond { op, field, arg }])
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.peek() {
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Arg::List(items));
                }
                loop {
                    items.push(self.string()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Arg::List(items));
                        }
                        _ => return Err(format!("expected `,` or `]` at position {}", self.i)),
                    }
                }
            }
            Some(b'"' | b'\'') => Ok(Arg::Str(self.string()?)),
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|&b| b != b')' && b != b',') {
                    self.i += 1;
                }
                let raw = String::from_utf8_lossy(&self.s[start..self.i])
                    .trim()
                    .to_owned();
                if raw.is_empty() {
                    return Err(format!("expected a value at position {start}"));
                }
                Ok(Arg::Bare(raw))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.ws();
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(format!("expected a quoted string at position {}", self.i)),
        };
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err("unterminated string".to_owned()),
                Some(b'\\') => {
                    let escaped = self
                        .s
                        .get(self.i + 1)
                        .ok_or_else(|| "unterminated string".to_owned())?;
                    out.push(*escaped);
                    self.i += 2;
                }
                Some(&b) if b == quote => {
                    self.i += 1;
                    return String::from_utf8(out).map_err(|_| "invalid UTF-8".to_owned());
                }
                Some(&b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, field: &str, arg: Arg) -> Cond {
        Cond {
            op: op.into(),
            field: field.into(),
            arg,
        }
    }

    #[test]
    fn lists_strings_and_bare_datetimes_parse() {
        assert_eq!(
            parse(r#"any(email,["a@x.dk", 'b"@x.dk', "c\"d"])"#).expect("parses"),
            vec![cond(
                "any",
                "email",
                Arg::List(vec!["a@x.dk".into(), "b\"@x.dk".into(), "c\"d".into()])
            )]
        );
        assert_eq!(
            parse(
                "and(equals(external_id,\"C1\"),greater-than(updated,2024-01-01T00:00:00+00:00))"
            )
            .expect("parses"),
            vec![
                cond("equals", "external_id", Arg::Str("C1".into())),
                cond(
                    "greater-than",
                    "updated",
                    Arg::Bare("2024-01-01T00:00:00+00:00".into())
                ),
            ]
        );
        assert_eq!(
            parse("equals(id,'a'), equals(email,'b')")
                .expect("parses")
                .len(),
            2
        );
    }

    #[test]
    fn malformed_filters_are_errors() {
        for bad in [
            "",
            "any(email,[\"a\"",
            "any(email,\"a)",
            "or(equals(id,'a'),equals(id,'b'))",
            "equals(id,'a') trailing",
            "equals(id,)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
