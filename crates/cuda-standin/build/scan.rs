//! A scan of a preprocessed kernel source (markers `__standin_global__`, `__standin_shared__`,
//! `__standin_launch_bounds__(..)` in place of the CUDA keywords): the `extern "C"` entries,
//! their launch bounds, the static `__shared__` declarations of each function, the names each
//! function body mentions (a conservative call graph), and the dynamic shared arrays.
//! Only text from files under the scanned kernel directory is read; system headers are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(String),
    Other(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Ident(s) | Tok::Str(s) | Tok::Punct(s) | Tok::Other(s) => s,
        }
    }
    fn is(&self, s: &str) -> bool {
        self.text() == s
    }
}

fn lex_line(line: &str, out: &mut Vec<Tok>) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(line[s..i].to_string()));
        } else if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.' || b[i] == b'\'') {
                i += 1;
            }
            out.push(Tok::Other(line[s..i].to_string()));
        } else if c == b'"' || c == b'\'' {
            let s = i;
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            let lit = &line[s..i];
            out.push(if c == b'"' { Tok::Str(lit.to_string()) } else { Tok::Other(lit.to_string()) });
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Tok::Punct("::".into()));
            i += 2;
        } else {
            out.push(Tok::Punct((c as char).to_string()));
            i += 1;
        }
    }
}

/// Tokens of the lines that come from files under `dir` (per the `# line "file"` markers).
fn tokens(text: &str, dir: &Path) -> Vec<Tok> {
    let dir = dir.to_string_lossy().into_owned();
    let mut out = Vec::new();
    let mut ours = true;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            // # <line> "<file>" <flags>
            if let Some(start) = rest.find('"') {
                let file = &rest[start + 1..rest.rfind('"').unwrap_or(rest.len())];
                let file = std::fs::canonicalize(file)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| file.to_string());
                ours = file.starts_with(&dir);
            }
            continue;
        }
        if line.starts_with('#') {
            continue; // #pragma
        }
        if ours {
            lex_line(line, &mut out);
        }
    }
    out
}

/// An `extern "C" __global__` entry.
pub struct EntryPoint {
    pub name: String,
    /// Named namespaces (None: anonymous) around the definition.
    pub namespaces: Vec<Option<String>>,
    /// The first `__launch_bounds__` argument, as source text.
    pub launch_bounds: Option<String>,
}

/// An `extern __shared__ T name[];` declaration.
pub struct DynamicShared {
    pub name: String,
    pub ty: String,
    pub namespaces: Vec<Option<String>>,
}

pub struct Scan {
    pub entries: Vec<EntryPoint>,
    pub dynamic_shared: Vec<DynamicShared>,
    /// Function name -> `sizeof(..)` of each static shared declaration in its body.
    shared_by_function: BTreeMap<String, Vec<String>>,
    /// Shared declarations at namespace scope (counted for every entry).
    shared_global: Vec<String>,
    /// Function name -> identifiers its body mentions.
    mentions: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Clone)]
enum Scope {
    Namespace(Option<String>),
    Linkage,
    Function(String),
    Other,
}

fn matching_open(toks: &[Tok], close: usize, open: &str, close_s: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = close;
    loop {
        if toks[i].is(close_s) {
            depth += 1;
        } else if toks[i].is(open) {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        if i == 0 {
            return None;
        }
        i -= 1;
    }
}

fn join(toks: &[Tok]) -> String {
    toks.iter().map(Tok::text).collect::<Vec<_>>().join(" ")
}

impl Scan {
    pub fn run(text: &str, dir: &Path) -> Result<Scan, String> {
        let toks = tokens(text, dir);
        let mut scan = Scan {
            entries: Vec::new(),
            dynamic_shared: Vec::new(),
            shared_by_function: BTreeMap::new(),
            shared_global: Vec::new(),
            mentions: BTreeMap::new(),
        };
        let mut stack: Vec<Scope> = Vec::new();
        let namespaces = |stack: &[Scope]| -> Vec<Option<String>> {
            stack
                .iter()
                .filter_map(|s| match s {
                    Scope::Namespace(n) => Some(n.clone()),
                    _ => None,
                })
                .collect()
        };
        let at_namespace_scope =
            |stack: &[Scope]| stack.iter().all(|s| matches!(s, Scope::Namespace(_) | Scope::Linkage));
        let function = |stack: &[Scope]| -> Option<String> {
            stack.iter().rev().find_map(|s| match s {
                Scope::Function(n) => Some(n.clone()),
                _ => None,
            })
        };
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            if t.is("{") {
                let prev = if i > 0 { toks[i - 1].text() } else { "" };
                let prev2 = if i > 1 { toks[i - 2].text() } else { "" };
                let scope = if prev == "namespace" {
                    Scope::Namespace(None)
                } else if prev2 == "namespace" {
                    Scope::Namespace(Some(prev.to_string()))
                } else if matches!(toks.get(i.wrapping_sub(1)), Some(Tok::Str(_))) && prev2 == "extern" {
                    Scope::Linkage
                } else if at_namespace_scope(&stack) {
                    // A function body: `name ( params ) [qualifiers] {`.
                    let mut j = i - 1;
                    while j > 0 && matches!(toks[j].text(), "const" | "noexcept" | "override" | "final") {
                        j -= 1;
                    }
                    if toks[j].is(")") {
                        match matching_open(&toks, j, "(", ")") {
                            Some(open) if open > 0 => match &toks[open - 1] {
                                Tok::Ident(name) => Scope::Function(name.clone()),
                                _ => Scope::Other,
                            },
                            _ => Scope::Other,
                        }
                    } else {
                        Scope::Other
                    }
                } else {
                    Scope::Other
                };
                stack.push(scope);
            } else if t.is("}") {
                stack.pop();
            } else if t.is("__standin_global__") {
                let c_linkage = (i >= 2 && toks[i - 2].is("extern") && matches!(toks[i - 1], Tok::Str(_)))
                    || stack.iter().any(|s| matches!(s, Scope::Linkage));
                let mut j = i + 1;
                let mut bounds = None;
                let mut last_ident = None;
                while j < toks.len() {
                    if toks[j].is("__standin_launch_bounds__") {
                        // ( expr [, min blocks] )
                        let start = j + 2;
                        let mut depth = 1;
                        let mut k = start;
                        let mut first_end = None;
                        while k < toks.len() && depth > 0 {
                            match toks[k].text() {
                                "(" => depth += 1,
                                ")" => depth -= 1,
                                "," if depth == 1 && first_end.is_none() => first_end = Some(k),
                                _ => {}
                            }
                            k += 1;
                        }
                        bounds = Some(join(&toks[start..first_end.unwrap_or(k - 1)]));
                        j = k;
                        continue;
                    }
                    if toks[j].is("(") {
                        break;
                    }
                    if let Tok::Ident(n) = &toks[j] {
                        last_ident = Some(n.clone());
                    }
                    j += 1;
                }
                let name = last_ident.ok_or("a __global__ without a name")?;
                if !c_linkage {
                    return Err(format!("kernel {name} is not extern \"C\" (its cubin name would be mangled)"));
                }
                scan.entries.push(EntryPoint { name, namespaces: namespaces(&stack), launch_bounds: bounds });
            } else if t.is("__standin_shared__") {
                let is_extern = i > 0 && toks[i - 1].is("extern");
                let end = (i..toks.len()).find(|&k| toks[k].is(";")).ok_or("unterminated __shared__ declaration")?;
                let decl = &toks[i + 1..end];
                let bracket = decl.iter().position(|t| t.is("["));
                let name_at = match bracket {
                    Some(b) if b > 0 => b - 1,
                    _ => decl.len().checked_sub(1).ok_or("empty __shared__ declaration")?,
                };
                let name = decl[name_at].text().to_string();
                let ty = join(&decl[..name_at]);
                if is_extern {
                    scan.dynamic_shared.push(DynamicShared { name, ty, namespaces: namespaces(&stack) });
                } else {
                    let dims = bracket.map(|b| join(&decl[b..])).unwrap_or_default();
                    let size = format!("sizeof({ty} {dims})");
                    match function(&stack) {
                        Some(f) => scan.shared_by_function.entry(f).or_default().push(size),
                        None => scan.shared_global.push(size),
                    }
                }
                i = end;
                continue;
            } else if let Tok::Ident(name) = t
                && let Some(f) = function(&stack)
            {
                scan.mentions.entry(f).or_default().insert(name.clone());
            }
            i += 1;
        }
        Ok(scan)
    }

    /// C++ expression for the static shared bytes of an entry: the declarations of every
    /// function reachable from it by name, plus those at namespace scope.
    pub fn static_shared_expr(&self, entry: &str) -> String {
        let mut seen = BTreeSet::new();
        let mut todo = vec![entry.to_string()];
        let mut terms: Vec<String> = self.shared_global.clone();
        while let Some(f) = todo.pop() {
            if !seen.insert(f.clone()) {
                continue;
            }
            if let Some(sizes) = self.shared_by_function.get(&f) {
                terms.extend(sizes.iter().cloned());
            }
            if let Some(names) = self.mentions.get(&f) {
                todo.extend(names.iter().filter(|n| self.mentions.contains_key(*n) && !seen.contains(*n)).cloned());
            }
        }
        if terms.is_empty() { "0".to_string() } else { terms.join(" + ") }
    }
}
