//! GraphQL operations against an introspection schema: every field selected exists on its
//! parent type, every argument exists with a value of its type (variables with a compatible
//! declared type, literals of the input type), required arguments are given, leaf fields have
//! no selection and composite fields have one, fragments name possible types, and the
//! variables sent fit their declared types. Answers are checked against the selection: every
//! selected field is present, null only where the schema allows it, and of its type's kind.
//!
//! A server's own extensions (Vendure's `customFields`, which the published schema shows as
//! the `JSON` scalar when none are configured) are added with [`Schema::extend`] in a small
//! SDL subset, so they are written down in the test as documented exceptions.

use super::{Exchange, Report};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A type reference: `String`, `[String!]!`.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    /// A named type.
    Named(String),
    /// A list of the inner type.
    List(Box<TypeRef>),
    /// The inner type, never null.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The named type inside any wrappers.
    pub fn name(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.name(),
        }
    }

    fn from_introspection(v: &Value) -> Option<TypeRef> {
        match v["kind"].as_str()? {
            "NON_NULL" => Some(TypeRef::NonNull(Box::new(Self::from_introspection(
                &v["ofType"],
            )?))),
            "LIST" => Some(TypeRef::List(Box::new(Self::from_introspection(
                &v["ofType"],
            )?))),
            _ => Some(TypeRef::Named(v["name"].as_str()?.to_owned())),
        }
    }
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeRef::Named(n) => write!(f, "{n}"),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

#[derive(Debug, Clone)]
struct InputValue {
    ty: TypeRef,
    has_default: bool,
}

#[derive(Debug, Clone)]
struct Field {
    args: BTreeMap<String, InputValue>,
    ty: TypeRef,
}

#[derive(Debug, Clone, Default)]
struct TypeDef {
    kind: String,
    fields: BTreeMap<String, Field>,
    input_fields: BTreeMap<String, InputValue>,
    enum_values: HashSet<String>,
    possible: HashSet<String>,
}

/// A GraphQL schema from an introspection result.
#[derive(Debug, Clone)]
pub struct Schema {
    types: HashMap<String, TypeDef>,
    query: String,
    mutation: Option<String>,
}

fn input_values(list: &Value) -> BTreeMap<String, InputValue> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a["name"].as_str()?.to_owned(),
                InputValue {
                    ty: TypeRef::from_introspection(&a["type"])?,
                    has_default: !a["defaultValue"].is_null(),
                },
            ))
        })
        .collect()
}

impl Schema {
    /// Loads an introspection JSON file (`{"data": {"__schema": ...}}` or `{"__schema": ...}`).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Schema, String> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: Value =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Schema::from_introspection(&v)
    }

    /// A schema from an introspection result.
    pub fn from_introspection(v: &Value) -> Result<Schema, String> {
        let s = v
            .pointer("/data/__schema")
            .or_else(|| v.get("__schema"))
            .ok_or("no __schema")?;
        let mut types = HashMap::new();
        for t in s["types"].as_array().ok_or("no types")? {
            let Some(name) = t["name"].as_str() else {
                continue;
            };
            let fields = t["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    Some((
                        f["name"].as_str()?.to_owned(),
                        Field {
                            args: input_values(&f["args"]),
                            ty: TypeRef::from_introspection(&f["type"])?,
                        },
                    ))
                })
                .collect();
            let enum_values = t["enumValues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["name"].as_str().map(str::to_owned))
                .collect();
            let possible = t["possibleTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["name"].as_str().map(str::to_owned))
                .collect();
            types.insert(
                name.to_owned(),
                TypeDef {
                    kind: t["kind"].as_str().unwrap_or("").to_owned(),
                    fields,
                    input_fields: input_values(&t["inputFields"]),
                    enum_values,
                    possible,
                },
            );
        }
        Ok(Schema {
            types,
            query: s["queryType"]["name"]
                .as_str()
                .ok_or("no queryType")?
                .to_owned(),
            mutation: s["mutationType"]["name"].as_str().map(str::to_owned),
        })
    }

    /// Adds or overrides types and fields from SDL: `type X { f: T g(a: T!): [T] }`,
    /// `input X { ... }`, `enum X { A B }`, `scalar X`, and `extend type|input X { ... }`,
    /// where an extension's field replaces one of the same name.
    pub fn extend(&mut self, sdl: &str) -> Result<(), String> {
        let tokens = lex(sdl)?;
        let mut p = Parser { t: tokens, i: 0 };
        while !p.done() {
            let extend = p.eat_name("extend");
            let keyword = p.name()?;
            let name = p.name()?;
            let kind = match keyword.as_str() {
                "type" => "OBJECT",
                "input" => "INPUT_OBJECT",
                "enum" => "ENUM",
                "scalar" => "SCALAR",
                other => return Err(format!("unsupported SDL definition `{other}`")),
            };
            let def = self.types.entry(name.clone()).or_insert_with(|| TypeDef {
                kind: kind.to_owned(),
                ..TypeDef::default()
            });
            if !extend {
                def.kind = kind.to_owned();
            }
            if kind == "SCALAR" || !p.eat(&Tok::Punct('{')) {
                continue;
            }
            while !p.eat(&Tok::Punct('}')) {
                let field = p.name()?;
                if kind == "ENUM" {
                    def.enum_values.insert(field);
                    continue;
                }
                let mut args = BTreeMap::new();
                if p.eat(&Tok::Punct('(')) {
                    while !p.eat(&Tok::Punct(')')) {
                        let arg = p.name()?;
                        p.expect(&Tok::Punct(':'))?;
                        let ty = p.type_ref()?;
                        args.insert(
                            arg,
                            InputValue {
                                ty,
                                has_default: false,
                            },
                        );
                    }
                }
                p.expect(&Tok::Punct(':'))?;
                let ty = p.type_ref()?;
                if kind == "INPUT_OBJECT" {
                    def.input_fields.insert(
                        field,
                        InputValue {
                            ty,
                            has_default: false,
                        },
                    );
                } else {
                    def.fields.insert(field, Field { args, ty });
                }
            }
        }
        Ok(())
    }

    fn kind(&self, name: &str) -> Option<&str> {
        self.types.get(name).map(|t| t.kind.as_str())
    }

    fn is_input(&self, name: &str) -> bool {
        matches!(self.kind(name), Some("SCALAR" | "ENUM" | "INPUT_OBJECT"))
    }

    fn is_leaf(&self, name: &str) -> bool {
        matches!(self.kind(name), Some("SCALAR" | "ENUM"))
    }

    /// Whether values of `sub` can appear where `sup` is expected (same type, or a member of
    /// an interface or union).
    fn overlaps(&self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        let set = |n: &str| -> HashSet<String> {
            match self.types.get(n) {
                Some(t) if !t.possible.is_empty() => t.possible.clone(),
                _ => [n.to_owned()].into_iter().collect(),
            }
        };
        !set(a).is_disjoint(&set(b))
    }
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(String),
    Float(String),
    Str(String),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '.' => {
                if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                    out.push(Tok::Spread);
                    i += 3;
                } else {
                    return Err(format!("a lone `.` at {i}"));
                }
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '!' | '$' | '=' | '@' | '|' | '&' => {
                out.push(Tok::Punct(c));
                i += 1;
            }
            '"' => {
                if chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') {
                    let start = i + 3;
                    let mut j = start;
                    while j + 2 < chars.len()
                        && !(chars[j] == '"' && chars[j + 1] == '"' && chars[j + 2] == '"')
                    {
                        j += 1;
                    }
                    out.push(Tok::Str(chars[start..j].iter().collect()));
                    i = j + 3;
                } else {
                    let mut s = String::new();
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err("an unterminated string".into()),
                            Some('"') => break,
                            Some('\\') => {
                                i += 1;
                                match chars.get(i) {
                                    Some('n') => s.push('\n'),
                                    Some('t') => s.push('\t'),
                                    Some('u') => {
                                        let hex: String =
                                            chars.get(i + 1..i + 5).unwrap_or(&[]).iter().collect();
                                        if let Some(ch) = u32::from_str_radix(&hex, 16)
                                            .ok()
                                            .and_then(char::from_u32)
                                        {
                                            s.push(ch);
                                        }
                                        i += 4;
                                    }
                                    Some(other) => s.push(*other),
                                    None => return Err("an unterminated string".into()),
                                }
                            }
                            Some(other) => s.push(*other),
                        }
                        i += 1;
                    }
                    out.push(Tok::Str(s));
                    i += 1;
                }
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                let mut float = false;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || matches!(chars[i], '.' | 'e' | 'E' | '+' | '-'))
                {
                    float |= matches!(chars[i], '.' | 'e' | 'E');
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                out.push(if float { Tok::Float(s) } else { Tok::Int(s) });
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                out.push(Tok::Name(chars[start..i].iter().collect()));
            }
            other => return Err(format!("an unexpected character {other:?} at {i}")),
        }
    }
    Ok(out)
}

struct Parser {
    t: Vec<Tok>,
    i: usize,
}

/// A GraphQL input value as written.
#[derive(Debug, Clone)]
enum GValue {
    Variable(String),
    Int(String),
    Float(String),
    Str(String),
    Bool(bool),
    Null,
    Enum(String),
    List(Vec<GValue>),
    Object(Vec<(String, GValue)>),
}

#[derive(Debug, Clone)]
enum Selection {
    Field {
        alias: Option<String>,
        name: String,
        args: Vec<(String, GValue)>,
        directives: bool,
        selection: Option<Vec<Selection>>,
    },
    Spread(String),
    Inline {
        on: Option<String>,
        selection: Vec<Selection>,
    },
}

impl GValue {
    fn describe(&self) -> String {
        match self {
            GValue::Variable(v) => format!("${v}"),
            GValue::Int(s) | GValue::Float(s) => s.clone(),
            GValue::Str(s) => format!("{s:?}"),
            GValue::Bool(b) => b.to_string(),
            GValue::Null => "null".into(),
            GValue::Enum(e) => e.clone(),
            GValue::List(_) => "a list".into(),
            GValue::Object(_) => "an object".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct OperationDef {
    kind: String,
    name: Option<String>,
    variables: Vec<(String, TypeRef, bool)>,
    selection: Vec<Selection>,
}

#[derive(Debug, Clone, Default)]
struct Document {
    operations: Vec<OperationDef>,
    fragments: HashMap<String, (String, Vec<Selection>)>,
}

impl Parser {
    fn done(&self) -> bool {
        self.i >= self.t.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_name(&mut self, name: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == name) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), String> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(format!("expected {tok:?}, found {:?}", self.peek()))
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Name(n)) => {
                self.i += 1;
                Ok(n)
            }
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn type_ref(&mut self) -> Result<TypeRef, String> {
        let inner = if self.eat(&Tok::Punct('[')) {
            let t = self.type_ref()?;
            self.expect(&Tok::Punct(']'))?;
            TypeRef::List(Box::new(t))
        } else {
            TypeRef::Named(self.name()?)
        };
        Ok(if self.eat(&Tok::Punct('!')) {
            TypeRef::NonNull(Box::new(inner))
        } else {
            inner
        })
    }

    fn value(&mut self) -> Result<GValue, String> {
        match self.peek().cloned() {
            Some(Tok::Punct('$')) => {
                self.i += 1;
                Ok(GValue::Variable(self.name()?))
            }
            Some(Tok::Int(s)) => {
                self.i += 1;
                Ok(GValue::Int(s))
            }
            Some(Tok::Float(s)) => {
                self.i += 1;
                Ok(GValue::Float(s))
            }
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(GValue::Str(s))
            }
            Some(Tok::Name(n)) => {
                self.i += 1;
                Ok(match n.as_str() {
                    "true" => GValue::Bool(true),
                    "false" => GValue::Bool(false),
                    "null" => GValue::Null,
                    _ => GValue::Enum(n),
                })
            }
            Some(Tok::Punct('[')) => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.eat(&Tok::Punct(']')) {
                    items.push(self.value()?);
                }
                Ok(GValue::List(items))
            }
            Some(Tok::Punct('{')) => {
                self.i += 1;
                let mut fields = Vec::new();
                while !self.eat(&Tok::Punct('}')) {
                    let k = self.name()?;
                    self.expect(&Tok::Punct(':'))?;
                    fields.push((k, self.value()?));
                }
                Ok(GValue::Object(fields))
            }
            other => Err(format!("expected a value, found {other:?}")),
        }
    }

    fn arguments(&mut self) -> Result<Vec<(String, GValue)>, String> {
        let mut args = Vec::new();
        if self.eat(&Tok::Punct('(')) {
            while !self.eat(&Tok::Punct(')')) {
                let k = self.name()?;
                self.expect(&Tok::Punct(':'))?;
                args.push((k, self.value()?));
            }
        }
        Ok(args)
    }

    /// Skips directives; says whether there were any.
    fn directives(&mut self) -> Result<bool, String> {
        let mut any = false;
        while self.eat(&Tok::Punct('@')) {
            self.name()?;
            self.arguments()?;
            any = true;
        }
        Ok(any)
    }

    fn selection_set(&mut self) -> Result<Vec<Selection>, String> {
        self.expect(&Tok::Punct('{'))?;
        let mut out = Vec::new();
        while !self.eat(&Tok::Punct('}')) {
            if self.eat(&Tok::Spread) {
                if self.eat_name("on") {
                    let on = self.name()?;
                    self.directives()?;
                    out.push(Selection::Inline {
                        on: Some(on),
                        selection: self.selection_set()?,
                    });
                } else if matches!(self.peek(), Some(Tok::Name(_))) {
                    let n = self.name()?;
                    self.directives()?;
                    out.push(Selection::Spread(n));
                } else {
                    self.directives()?;
                    out.push(Selection::Inline {
                        on: None,
                        selection: self.selection_set()?,
                    });
                }
                continue;
            }
            let first = self.name()?;
            let (alias, name) = if self.eat(&Tok::Punct(':')) {
                (Some(first), self.name()?)
            } else {
                (None, first)
            };
            let args = self.arguments()?;
            let directives = self.directives()?;
            let selection = if self.peek() == Some(&Tok::Punct('{')) {
                Some(self.selection_set()?)
            } else {
                None
            };
            out.push(Selection::Field {
                alias,
                name,
                args,
                directives,
                selection,
            });
        }
        Ok(out)
    }

    fn document(&mut self) -> Result<Document, String> {
        let mut doc = Document::default();
        while !self.done() {
            if self.peek() == Some(&Tok::Punct('{')) {
                doc.operations.push(OperationDef {
                    kind: "query".into(),
                    name: None,
                    variables: vec![],
                    selection: self.selection_set()?,
                });
                continue;
            }
            let keyword = self.name()?;
            if keyword == "fragment" {
                let name = self.name()?;
                if !self.eat_name("on") {
                    return Err(format!("fragment {name} without `on`"));
                }
                let on = self.name()?;
                self.directives()?;
                let sel = self.selection_set()?;
                doc.fragments.insert(name, (on, sel));
                continue;
            }
            if !matches!(keyword.as_str(), "query" | "mutation" | "subscription") {
                return Err(format!("unexpected `{keyword}` at the top level"));
            }
            let name = match self.peek() {
                Some(Tok::Name(_)) => Some(self.name()?),
                _ => None,
            };
            let mut variables = Vec::new();
            if self.eat(&Tok::Punct('(')) {
                while !self.eat(&Tok::Punct(')')) {
                    self.expect(&Tok::Punct('$'))?;
                    let v = self.name()?;
                    self.expect(&Tok::Punct(':'))?;
                    let ty = self.type_ref()?;
                    let has_default = if self.eat(&Tok::Punct('=')) {
                        self.value()?;
                        true
                    } else {
                        false
                    };
                    self.directives()?;
                    variables.push((v, ty, has_default));
                }
            }
            self.directives()?;
            doc.operations.push(OperationDef {
                kind: keyword,
                name,
                variables,
                selection: self.selection_set()?,
            });
        }
        Ok(doc)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

struct Ctx<'a> {
    schema: &'a Schema,
    doc: &'a Document,
    vars: HashMap<&'a str, &'a TypeRef>,
    used_vars: HashSet<String>,
    errors: Vec<String>,
}

/// Whether a variable of type `var` may be used where `loc` is expected.
fn compatible(var: &TypeRef, loc: &TypeRef) -> bool {
    match (var, loc) {
        (TypeRef::NonNull(v), TypeRef::NonNull(l)) => compatible(v, l),
        (TypeRef::NonNull(v), l) => compatible(v, l),
        (_, TypeRef::NonNull(_)) => false,
        (TypeRef::List(v), TypeRef::List(l)) => compatible(v, l),
        (TypeRef::Named(v), TypeRef::Named(l)) => v == l,
        _ => false,
    }
}

impl Ctx<'_> {
    fn selection(&mut self, parent: &str, sel: &[Selection], path: &str, depth: u32) {
        if depth > 32 {
            return;
        }
        let schema = self.schema;
        let Some(def) = schema.types.get(parent) else {
            self.errors
                .push(format!("{path}: type `{parent}` is not in the schema"));
            return;
        };
        for s in sel {
            match s {
                Selection::Field {
                    name,
                    args,
                    selection,
                    ..
                } => {
                    let here = format!("{path}.{name}");
                    if name == "__typename" {
                        if selection.is_some() {
                            self.errors.push(format!("{here}: a leaf with a selection"));
                        }
                        continue;
                    }
                    let Some(field) = def.fields.get(name) else {
                        self.errors.push(format!(
                            "{here}: type `{parent}` ({}) has no field `{name}`",
                            def.kind
                        ));
                        continue;
                    };
                    for (arg, value) in args {
                        match field.args.get(arg) {
                            Some(iv) => self.value(value, &iv.ty, &format!("{here}({arg}:)")),
                            None => self.errors.push(format!(
                                "{here}: field `{parent}.{name}` has no argument `{arg}` (it takes {:?})",
                                field.args.keys().collect::<Vec<_>>()
                            )),
                        }
                    }
                    for (arg, iv) in &field.args {
                        if matches!(iv.ty, TypeRef::NonNull(_))
                            && !iv.has_default
                            && !args.iter().any(|(a, _)| a == arg)
                        {
                            self.errors.push(format!(
                                "{here}: required argument `{arg}: {}` is missing",
                                iv.ty
                            ));
                        }
                    }
                    let inner = field.ty.name();
                    match (schema.is_leaf(inner), selection) {
                        (true, Some(_)) => self.errors.push(format!(
                            "{here}: `{inner}` is a leaf type; it takes no selection"
                        )),
                        (false, None) => self.errors.push(format!(
                            "{here}: `{inner}` is a composite type; it needs a selection"
                        )),
                        (false, Some(sub)) => self.selection(inner, sub, &here, depth + 1),
                        (true, None) => {}
                    }
                }
                Selection::Spread(name) => match self.doc.fragments.get(name) {
                    Some((on, sub)) => {
                        if !schema.types.contains_key(on.as_str()) {
                            self.errors
                                .push(format!("{path}: fragment `{name}` is on unknown `{on}`"));
                        } else if !schema.overlaps(on, parent) {
                            self.errors.push(format!(
                                "{path}: fragment `{name}` on `{on}` can never apply to `{parent}`"
                            ));
                        } else {
                            let (on, sub) = (on.clone(), sub.clone());
                            self.selection(&on, &sub, path, depth + 1);
                        }
                    }
                    None => self
                        .errors
                        .push(format!("{path}: fragment `{name}` is not defined")),
                },
                Selection::Inline { on, selection } => {
                    let on = on.as_deref().unwrap_or(parent);
                    if !schema.types.contains_key(on) {
                        self.errors
                            .push(format!("{path}: `... on {on}`: no such type"));
                    } else if !schema.overlaps(on, parent) {
                        self.errors.push(format!(
                            "{path}: `... on {on}` can never apply to `{parent}`"
                        ));
                    } else {
                        self.selection(on, selection, &format!("{path}(on {on})"), depth + 1);
                    }
                }
            }
        }
    }

    fn value(&mut self, v: &GValue, ty: &TypeRef, at: &str) {
        let schema = self.schema;
        if let GValue::Variable(name) = v {
            self.used_vars.insert(name.clone());
            match self.vars.get(name.as_str()) {
                Some(decl) if compatible(decl, ty) => {}
                Some(decl) => self.errors.push(format!(
                    "{at}: variable `${name}: {decl}` cannot be used where `{ty}` is expected"
                )),
                None => self
                    .errors
                    .push(format!("{at}: variable `${name}` is not declared")),
            }
            return;
        }
        match ty {
            TypeRef::NonNull(inner) => {
                if matches!(v, GValue::Null) {
                    self.errors
                        .push(format!("{at}: null where `{ty}` is expected"));
                } else {
                    self.value(v, inner, at);
                }
            }
            TypeRef::List(inner) => match v {
                GValue::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item, inner, &format!("{at}[{i}]"));
                    }
                }
                GValue::Null => {}
                // A single value stands for a list of one.
                other => self.value(other, inner, at),
            },
            TypeRef::Named(name) => {
                let Some(def) = schema.types.get(name) else {
                    self.errors
                        .push(format!("{at}: type `{name}` is not in the schema"));
                    return;
                };
                let ok = match (def.kind.as_str(), v) {
                    (_, GValue::Null) => true,
                    ("ENUM", GValue::Enum(e)) => {
                        if !def.enum_values.contains(e) {
                            self.errors
                                .push(format!("{at}: `{e}` is not a value of enum `{name}`"));
                        }
                        true
                    }
                    ("INPUT_OBJECT", GValue::Object(fields)) => {
                        for (k, fv) in fields {
                            match def.input_fields.get(k) {
                                Some(iv) => self.value(fv, &iv.ty, &format!("{at}.{k}")),
                                None => self
                                    .errors
                                    .push(format!("{at}: input `{name}` has no field `{k}`")),
                            }
                        }
                        for (k, iv) in &def.input_fields {
                            if matches!(iv.ty, TypeRef::NonNull(_))
                                && !iv.has_default
                                && !fields.iter().any(|(f, _)| f == k)
                            {
                                self.errors.push(format!(
                                    "{at}: input `{name}` needs field `{k}: {}`",
                                    iv.ty
                                ));
                            }
                        }
                        true
                    }
                    ("SCALAR", v) => match name.as_str() {
                        "Int" => matches!(v, GValue::Int(_)),
                        "Float" => matches!(v, GValue::Int(_) | GValue::Float(_)),
                        "String" => matches!(v, GValue::Str(_)),
                        "Boolean" => matches!(v, GValue::Bool(_)),
                        "ID" => matches!(v, GValue::Str(_) | GValue::Int(_)),
                        _ => true,
                    },
                    _ => false,
                };
                if !ok {
                    self.errors.push(format!(
                        "{at}: {} is not a `{name}` ({})",
                        v.describe(),
                        def.kind
                    ));
                }
            }
        }
    }
}

/// Checks a JSON variable value against its declared type; returns problems.
fn json_input(schema: &Schema, v: &Value, ty: &TypeRef, at: &str, out: &mut Vec<String>) {
    match ty {
        TypeRef::NonNull(inner) => {
            if v.is_null() {
                out.push(format!("{at}: null where `{ty}` is required"));
            } else {
                json_input(schema, v, inner, at, out);
            }
        }
        TypeRef::List(inner) => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    json_input(schema, item, inner, &format!("{at}/{i}"), out);
                }
            }
            Value::Null => {}
            other => json_input(schema, other, inner, at, out),
        },
        TypeRef::Named(name) => {
            if v.is_null() {
                return;
            }
            let Some(def) = schema.types.get(name) else {
                return;
            };
            let ok = match def.kind.as_str() {
                "ENUM" => v.as_str().is_some_and(|s| def.enum_values.contains(s)),
                "INPUT_OBJECT" => match v.as_object() {
                    Some(map) => {
                        for (k, fv) in map {
                            match def.input_fields.get(k) {
                                Some(iv) => {
                                    json_input(schema, fv, &iv.ty, &format!("{at}/{k}"), out)
                                }
                                None => {
                                    out.push(format!("{at}: input `{name}` has no field `{k}`"))
                                }
                            }
                        }
                        true
                    }
                    None => false,
                },
                _ => match name.as_str() {
                    "Int" => v.is_i64() || v.is_u64(),
                    "Float" => v.is_number(),
                    "String" => v.is_string(),
                    "Boolean" => v.is_boolean(),
                    "ID" => v.is_string() || v.is_i64() || v.is_u64(),
                    _ => true,
                },
            };
            if !ok {
                out.push(format!("{at}: {} is not a `{name}`", super::short(v)));
            }
        }
    }
}

/// An operation that passed [`validate_request`].
#[derive(Debug, Clone)]
pub struct Checked {
    /// `query Name`, `mutation Name` (or `query (anonymous)`).
    pub key: String,
    doc: Document,
    op: usize,
}

/// Validates a GraphQL request body (`{"query", "variables", "operationName"}`).
pub fn validate_request(schema: &Schema, body: &Value) -> Result<Checked, Vec<String>> {
    let Some(query) = body["query"].as_str() else {
        return Err(vec!["the body has no `query` string".into()]);
    };
    let doc = lex(query)
        .and_then(|t| Parser { t, i: 0 }.document())
        .map_err(|e| vec![format!("the query does not parse: {e}")])?;
    let wanted = body["operationName"].as_str();
    let op_index = match wanted {
        Some(n) => doc
            .operations
            .iter()
            .position(|o| o.name.as_deref() == Some(n)),
        None if doc.operations.len() == 1 => Some(0),
        None => None,
    };
    let Some(op_index) = op_index else {
        return Err(vec![format!(
            "cannot tell which of {} operations to run (operationName {wanted:?})",
            doc.operations.len()
        )]);
    };
    let op = &doc.operations[op_index];
    let key = format!(
        "{} {}",
        op.kind,
        op.name.as_deref().unwrap_or("(anonymous)")
    );
    let root = match op.kind.as_str() {
        "query" => Some(schema.query.clone()),
        "mutation" => schema.mutation.clone(),
        _ => None,
    };
    let Some(root) = root else {
        return Err(vec![format!("{key}: the schema has no {} root", op.kind)]);
    };
    let mut ctx = Ctx {
        schema,
        doc: &doc,
        vars: op
            .variables
            .iter()
            .map(|(n, t, _)| (n.as_str(), t))
            .collect(),
        used_vars: HashSet::new(),
        errors: Vec::new(),
    };
    for (name, ty, _) in &op.variables {
        if !schema.is_input(ty.name()) {
            ctx.errors.push(format!(
                "variable `${name}: {ty}`: `{}` is not an input type of the schema",
                ty.name()
            ));
        }
    }
    ctx.selection(&root, &op.selection, &key, 0);
    let mut errors = ctx.errors;
    let used = ctx.used_vars;
    let sent = body["variables"].as_object();
    for (name, ty, has_default) in &op.variables {
        if !used.contains(name) {
            errors.push(format!("variable `${name}` is declared but never used"));
        }
        match sent.and_then(|m| m.get(name)) {
            Some(v) => json_input(schema, v, ty, &format!("variables/{name}"), &mut errors),
            None if matches!(ty, TypeRef::NonNull(_)) && !has_default => {
                errors.push(format!("variable `${name}: {ty}` is required but not sent"))
            }
            None => {}
        }
    }
    for name in sent.into_iter().flat_map(|m| m.keys()) {
        if !op.variables.iter().any(|(n, _, _)| n == name) {
            errors.push(format!("variable `{name}` is sent but not declared"));
        }
    }
    if errors.is_empty() {
        Ok(Checked {
            key,
            doc,
            op: op_index,
        })
    } else {
        Err(errors.into_iter().map(|e| format!("{key}: {e}")).collect())
    }
}

/// Checks an answer's `data` against the operation's selection.
pub fn validate_response(schema: &Schema, checked: &Checked, data: &Value) -> Vec<String> {
    let op = &checked.doc.operations[checked.op];
    let root = if op.kind == "mutation" {
        schema.mutation.clone().unwrap_or_default()
    } else {
        schema.query.clone()
    };
    let mut out = Vec::new();
    data_selection(
        schema,
        &checked.doc,
        &root,
        &op.selection,
        data,
        "/data",
        &mut out,
    );
    out
}

fn data_selection(
    schema: &Schema,
    doc: &Document,
    parent: &str,
    sel: &[Selection],
    data: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let Some(map) = data.as_object() else {
        out.push(format!(
            "{at}: expected an object of `{parent}`, got {}",
            super::short(data)
        ));
        return;
    };
    // The concrete type, when the answer names it.
    let concrete = map
        .get("__typename")
        .and_then(Value::as_str)
        .unwrap_or(parent)
        .to_owned();
    for s in sel {
        match s {
            Selection::Field {
                alias,
                name,
                directives,
                selection,
                ..
            } => {
                let key = alias.as_ref().unwrap_or(name);
                let here = format!("{at}/{key}");
                let Some(v) = map.get(key) else {
                    if !directives {
                        out.push(format!("{here}: the selected field is missing"));
                    }
                    continue;
                };
                if name == "__typename" {
                    if !v.is_string() {
                        out.push(format!("{here}: expected a type name"));
                    }
                    continue;
                }
                let Some(field) = schema
                    .types
                    .get(&concrete)
                    .and_then(|t| t.fields.get(name))
                    .or_else(|| schema.types.get(parent).and_then(|t| t.fields.get(name)))
                else {
                    continue;
                };
                data_value(schema, doc, &field.ty, selection.as_deref(), v, &here, out);
            }
            Selection::Spread(name) => {
                if let Some((on, sub)) = doc.fragments.get(name) {
                    if applies(schema, on, &concrete, map) {
                        data_selection(schema, doc, on, sub, data, at, out);
                    }
                }
            }
            Selection::Inline { on, selection } => {
                let on = on.as_deref().unwrap_or(parent);
                if applies(schema, on, &concrete, map) {
                    data_selection(schema, doc, on, selection, data, at, out);
                }
            }
        }
    }
}

/// Whether a fragment on `on` applies to an object whose type is `concrete` (when the answer
/// does not name its type, only a fragment on the parent's own type applies).
fn applies(
    schema: &Schema,
    on: &str,
    concrete: &str,
    map: &serde_json::Map<String, Value>,
) -> bool {
    if map.contains_key("__typename") {
        on == concrete
            || schema
                .types
                .get(on)
                .is_some_and(|t| t.possible.contains(concrete))
    } else {
        on == concrete
    }
}

fn data_value(
    schema: &Schema,
    doc: &Document,
    ty: &TypeRef,
    sel: Option<&[Selection]>,
    v: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    match ty {
        TypeRef::NonNull(inner) => {
            if v.is_null() {
                out.push(format!("{at}: null, but the schema says `{ty}`"));
            } else {
                data_value(schema, doc, inner, sel, v, at, out);
            }
        }
        _ if v.is_null() => {}
        TypeRef::List(inner) => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    data_value(schema, doc, inner, sel, item, &format!("{at}/{i}"), out);
                }
            }
            None => out.push(format!(
                "{at}: expected a list `{ty}`, got {}",
                super::short(v)
            )),
        },
        TypeRef::Named(name) => {
            let Some(def) = schema.types.get(name) else {
                return;
            };
            match def.kind.as_str() {
                "ENUM" => {
                    if !v.as_str().is_some_and(|s| def.enum_values.contains(s)) {
                        out.push(format!(
                            "{at}: {} is not a value of `{name}`",
                            super::short(v)
                        ));
                    }
                }
                "SCALAR" => {
                    let ok = match name.as_str() {
                        "Int" => v.is_i64() || v.is_u64(),
                        "Float" => v.is_number(),
                        "String" => v.is_string(),
                        "Boolean" => v.is_boolean(),
                        "ID" => v.is_string() || v.is_i64() || v.is_u64(),
                        _ => true,
                    };
                    if !ok {
                        out.push(format!("{at}: {} is not a `{name}`", super::short(v)));
                    }
                }
                _ => {
                    if let Some(sel) = sel {
                        data_selection(schema, doc, name, sel, v, at, out);
                    }
                }
            }
        }
    }
}

/// Checks every recorded GraphQL exchange posted to `endpoint` (e.g. `/admin-api`): the
/// request is valid against `schema`; an answer with `data` and no `errors` fits the
/// selection. Requests elsewhere are violations. `covered` counts operations by
/// `query Name`.
pub fn check(schema: &Schema, exchanges: &[Exchange], endpoint: &str) -> Report {
    let mut report = Report::default();
    for x in exchanges {
        let at = x.route();
        if x.method != "POST" || x.path != endpoint {
            report.violations.push(format!(
                "{at}: not a POST to the GraphQL endpoint {endpoint}"
            ));
            continue;
        }
        let Some(body) = x.request_json() else {
            report
                .violations
                .push(format!("{at}: the request body is not JSON"));
            continue;
        };
        report.request_bodies_checked += 1;
        let checked = match validate_request(schema, &body) {
            Ok(c) => c,
            Err(errors) => {
                report
                    .violations
                    .extend(errors.into_iter().map(|e| format!("{at}: {e}")));
                continue;
            }
        };
        *report.covered.entry(checked.key.clone()).or_default() += 1;
        if !(200..300).contains(&x.status) {
            continue;
        }
        let Some(answer) = x.response_json() else {
            report
                .violations
                .push(format!("{at} ({}): the answer is not JSON", checked.key));
            continue;
        };
        if answer.get("errors").is_some_and(|e| !e.is_null()) {
            continue;
        }
        match answer.get("data") {
            Some(data) if !data.is_null() => {
                report.response_bodies_checked += 1;
                for e in validate_response(schema, &checked, data) {
                    report
                        .violations
                        .push(format!("{at} ({}): answer {e}", checked.key));
                }
            }
            _ => report.violations.push(format!(
                "{at} ({}): an answer without data or errors",
                checked.key
            )),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        let intro = json!({"data": {"__schema": {
        "queryType": {"name": "Query"}, "mutationType": null,
        "types": [
            {"kind": "OBJECT", "name": "Query", "fields": [
                {"name": "products", "args": [{"name": "options", "type": {"kind": "INPUT_OBJECT", "name": "Opts"}, "defaultValue": null}],
                 "type": {"kind": "NON_NULL", "ofType": {"kind": "OBJECT", "name": "List"}}}
            ]},
            {"kind": "OBJECT", "name": "List", "fields": [
                {"name": "items", "args": [], "type": {"kind": "NON_NULL", "ofType": {"kind": "LIST", "ofType": {"kind": "OBJECT", "name": "Product"}}}},
                {"name": "totalItems", "args": [], "type": {"kind": "NON_NULL", "ofType": {"kind": "SCALAR", "name": "Int"}}}
            ]},
            {"kind": "OBJECT", "name": "Product", "fields": [
                {"name": "slug", "args": [], "type": {"kind": "SCALAR", "name": "String"}},
                {"name": "customFields", "args": [], "type": {"kind": "SCALAR", "name": "JSON"}}
            ]},
            {"kind": "INPUT_OBJECT", "name": "Opts", "inputFields": [
                {"name": "take", "type": {"kind": "SCALAR", "name": "Int"}, "defaultValue": null},
                {"name": "sort", "type": {"kind": "ENUM", "name": "SortOrder"}, "defaultValue": null}
            ]},
            {"kind": "ENUM", "name": "SortOrder", "enumValues": [{"name": "ASC"}, {"name": "DESC"}]},
            {"kind": "SCALAR", "name": "Int"}, {"kind": "SCALAR", "name": "String"}, {"kind": "SCALAR", "name": "JSON"}
        ]}}});
        Schema::from_introspection(&intro).expect("schema")
    }

    #[test]
    fn valid_and_invalid_operations() {
        let s = schema();
        let ok = json!({"query": "query P($take: Int!) { products(options: {take: $take, sort: ASC}) { totalItems items { slug } } }", "variables": {"take": 3}});
        let checked = validate_request(&s, &ok).expect("valid");
        assert_eq!(checked.key, "query P");
        let data = json!({"products": {"totalItems": 1, "items": [{"slug": "a"}]}});
        assert!(validate_response(&s, &checked, &data).is_empty());
        let bad_data = json!({"products": {"totalItems": null, "items": [{}]}});
        let errs = validate_response(&s, &checked, &bad_data);
        assert_eq!(errs.len(), 2, "{errs:?}");

        let bad = json!({"query": "query P($take: String) { products(options: {take: $take, sort: UP, skip: 1}) { items { slug name customFields { code } } } }", "variables": {"take": 3}});
        let errs = validate_request(&s, &bad).unwrap_err().join("\n");
        for needle in [
            "`$take: String` cannot be used where `Int` is expected",
            "`UP` is not a value of enum `SortOrder`",
            "input `Opts` has no field `skip`",
            "type `Product` (OBJECT) has no field `name`",
            "`JSON` is a leaf type",
            "variables/take: 3 is not a `String`",
        ] {
            assert!(errs.contains(needle), "{needle} not in\n{errs}");
        }
    }

    #[test]
    fn extensions_add_custom_fields() {
        let mut s = schema();
        s.extend("type ProductCustomFields { code: String } extend type Product { customFields: ProductCustomFields } extend input Opts { code: String }")
            .expect("sdl");
        let q = json!({"query": "{ products(options: {code: \"x\"}) { items { customFields { code } } } }"});
        validate_request(&s, &q).expect("valid with the extension");
    }
}
