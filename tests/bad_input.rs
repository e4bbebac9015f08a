//! The bad-input table (tests/fixtures/bad_input.json) through the `isoformer` binary: every kind
//! with a CLI case ends with its typed code (`error[CODE]` on stderr, exit status 2 unless the
//! table says otherwise), never a panic or a hang; and docs/errors.md's table lists every kind with
//! its code, so the two cannot drift. The npm API's side is tests/browser/bad_input.mjs.
#![cfg(not(target_arch = "wasm32"))]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Long enough for any case on a busy 2-core machine; only a hang reaches it (a guard, not a measure).
const HANG_GUARD: Duration = Duration::from_secs(300);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn table() -> Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/bad_input.json")).expect("the table");
    serde_json::from_str(&text).expect("the table is JSON")
}

fn kinds(table: &Value) -> &Vec<Value> {
    table["kinds"].as_array().expect("kinds")
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}")).to_string()
}

/// Where a case's placeholders point.
struct Places {
    tiny: PathBuf,
    weights: PathBuf,
    dir: PathBuf,
}

impl Places {
    fn fill(&self, text: &str) -> String {
        text.replace("{tiny}", &self.tiny.to_string_lossy())
            .replace("{weights}", &self.weights.to_string_lossy())
            .replace("{dir}", &self.dir.to_string_lossy())
            .replace("{root}", &root().to_string_lossy())
    }
}

/// A value of the table as bytes: a string, `{"$text": {prefix, repeat, times, suffix}}`,
/// `{"$hex": ".."}` or `{"$file": path}`.
fn bytes_of(value: &Value) -> Vec<u8> {
    if let Some(text) = value.as_str() {
        return text.as_bytes().to_vec();
    }
    if let Some(spec) = value.get("$text") {
        let part = |key: &str| spec[key].as_str().unwrap_or_default();
        let times = spec["times"].as_u64().expect("times") as usize;
        return format!("{}{}{}", part("prefix"), part("repeat").repeat(times), part("suffix")).into_bytes();
    }
    if let Some(hex) = value.get("$hex").and_then(Value::as_str) {
        return (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    }
    if let Some(path) = value.get("$file").and_then(Value::as_str) {
        return std::fs::read(root().join(path)).expect("a repository file");
    }
    panic!("not a text value: {value}")
}

/// A command-line argument: placeholders filled in a string; a long text as it is.
fn argument(value: &Value, places: &Places) -> OsString {
    match value.as_str() {
        Some(text) => places.fill(text).into(),
        None => String::from_utf8(bytes_of(value)).expect("a text argument").into(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The tiny IsoFormer directory copied to `to` (without its q8/ variant) with the table's edits.
fn edited_weights(tiny: &Path, to: &Path, edits: &[Value], html: &str) {
    for part in ["dna", "rna", "protein", "aggregator"] {
        copy_dir(&tiny.join(part), &to.join(part));
    }
    std::fs::copy(tiny.join("isoformer.json"), to.join("isoformer.json")).unwrap();
    for edit in edits {
        let path = to.join(text(edit, "file"));
        let read = || std::fs::read(&path).unwrap();
        let bytes = if edit["remove"].as_bool() == Some(true) {
            if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) }.unwrap();
            continue;
        } else if edit["html"].as_bool() == Some(true) {
            html.as_bytes().to_vec()
        } else if let Some(value) = edit.get("text") {
            bytes_of(value)
        } else if let Some(keep) = edit["truncate"].as_u64() {
            read()[..keep as usize].to_vec()
        } else if let Some(at) = edit["flip"].as_u64() {
            let mut bytes = read();
            bytes[at as usize] ^= 0xFF;
            bytes
        } else if let Some(pointers) = edit["set"].as_object() {
            let mut json: Value = serde_json::from_slice(&read()).unwrap();
            for (pointer, value) in pointers {
                *json.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} in {}", path.display())) = value.clone();
            }
            serde_json::to_vec_pretty(&json).unwrap()
        } else {
            panic!("an edit the CLI cannot make: {edit}")
        };
        std::fs::write(&path, bytes).unwrap();
    }
}

/// Runs the binary to its end, or kills it at the hang guard (`None`); stdout and stderr go to
/// files, so a large output never blocks it on a full pipe.
fn run(args: &[OsString], dir: &Path) -> Option<(ExitStatus, String)> {
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_isoformer"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("run isoformer");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = String::from_utf8_lossy(&std::fs::read(&stderr).unwrap()).into_owned();
    Some((status, output))
}

/// One kind's CLI case; `Err` says what went wrong.
fn check(kind: &Value, table: &Value, scratch: &Path) -> Result<(), String> {
    let case = &kind["cli"];
    let name = text(kind, "name");
    let dir = scratch.join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let places =
        Places { tiny: root().join("weights/isoformer-tiny-random"), weights: dir.join("weights"), dir: dir.clone() };
    if let Some(edits) = case["weights"].as_array() {
        edited_weights(&places.tiny, &places.weights, edits, table["html_page"].as_str().unwrap());
    }
    for (file, value) in case["files"].as_object().into_iter().flatten() {
        std::fs::write(dir.join(file), bytes_of(value)).unwrap();
    }
    let args: Vec<OsString> = case["args"].as_array().expect("args").iter().map(|a| argument(a, &places)).collect();
    let code = case["code"].as_str().or(kind["code"].as_str()).expect("code");
    let exit = case["exit"].as_i64().unwrap_or(2) as i32;
    let Some((status, stderr)) = run(&args, &dir) else {
        return Err(format!("{name}: no answer within {HANG_GUARD:?} (a hang)"));
    };
    let shown = || stderr.chars().take(2000).collect::<String>();
    if status.code() == Some(101) || stderr.contains("panicked") {
        return Err(format!("{name}: panicked ({status}): {}", shown()));
    }
    if status.code() != Some(exit) {
        return Err(format!("{name}: exit status {status}, expected {exit}: {}", shown()));
    }
    if !stderr.contains(&format!("error[{code}]")) {
        return Err(format!("{name}: expected error[{code}]: {}", shown()));
    }
    // The message names the input without repeating it whole (a 1 MB header stays out of it).
    if let Some(line) = stderr.lines().find(|line| line.len() > 4096) {
        return Err(format!("{name}: a {}-byte line on stderr: {}…", line.len(), &line[..200.min(line.len())]));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn every_cli_case_ends_with_its_typed_code() {
    let table = table();
    let cases: Vec<&Value> = kinds(&table).iter().filter(|k| k.get("cli").is_some()).collect();
    assert!(cases.len() >= 40, "{} CLI cases", cases.len());
    let scratch = std::env::temp_dir().join(format!("isoformer-bad-input-{}", std::process::id()));
    // Two cases at a time: each is one short process, and the machine may have 2 cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(kind) = cases.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                    if let Err(failure) = check(kind, &table, &scratch) {
                        failures.lock().unwrap().push(failure);
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(failures.is_empty(), "{} of {} CLI cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn every_kind_has_a_case_or_says_why_not() {
    let table = table();
    let mut names = std::collections::HashSet::new();
    for kind in kinds(&table) {
        let name = text(kind, "name");
        assert!(names.insert(name.clone()), "{name} appears twice");
        assert!(!text(kind, "what").is_empty() && !text(kind, "code").is_empty(), "{name}");
        for side in ["cli", "api"] {
            let absent = kind.get(format!("{side}_absent").as_str()).and_then(Value::as_str);
            assert!(
                kind.get(side).is_some() != absent.is_some_and(|why| !why.is_empty()),
                "{name}: a {side} case, or {side}_absent saying why not (not both)"
            );
        }
        let edits = kind["cli"]["weights"].as_array().into_iter().flatten();
        assert!(edits.clone().all(|e| e.get("status").is_none()), "{name}: an HTTP status has no CLI form");
    }
    assert!(names.len() >= 40, "{} kinds", names.len());
}

/// The table of docs/errors.md (the README links it): the rows under its `| kind | input | code |
/// run by |` header, each `(kind, code cell)`.
fn documented_rows() -> Vec<(String, String)> {
    let errors = std::fs::read_to_string(root().join("docs/errors.md")).unwrap();
    let table =
        errors.split("\n| kind | input | code | run by |\n").nth(1).expect("docs/errors.md has the bad-input table");
    table
        .lines()
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2).copied().unwrap_or_default().to_string()))
        })
        .collect()
}

#[test]
fn docs_list_every_kind_with_its_code() {
    let table = table();
    let rows = documented_rows();
    let listed: Vec<&str> = rows.iter().map(|(name, _)| name.as_str()).collect();
    let names: Vec<String> = kinds(&table).iter().map(|k| text(k, "name")).collect();
    assert_eq!(listed, names, "docs/errors.md lists the kinds of tests/fixtures/bad_input.json, in order");
    for (kind, (_, code)) in kinds(&table).iter().zip(&rows) {
        let expected = text(kind, "code");
        assert!(
            code.contains(&format!("`{expected}`")),
            "{}: docs/errors.md says {code}, the table {expected}",
            text(kind, "name")
        );
        if let Some(cli) = kind["cli"]["code"].as_str() {
            assert!(
                code.contains(&format!("CLI: `{cli}`")),
                "{}: docs/errors.md says {code}, the CLI's is {cli}",
                text(kind, "name")
            );
        }
    }
}
