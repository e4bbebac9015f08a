#!/usr/bin/env python3
"""Where the wasm module's bytes go: the code section's function bodies grouped by the Rust crate
their (demangled) names start with, read from the module's name section.

    python3 scripts/wasm_size.py target/wasm32-unknown-unknown/release/isoformer.wasm [--top 25]

Run it on cargo's module (before wasm-bindgen and wasm-opt, which drop or rename the names); the
shipped module is smaller (wasm-opt -Oz) but made of the same functions. Prints a Markdown table:
crate, bytes of code, share, functions.
"""
import argparse
import collections
import re


def leb128(data, at):
    """An unsigned LEB128 number at `at`: (value, next offset)."""
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def sections(data):
    """(id, name for custom sections, payload start, payload end) of every section."""
    at = 8  # magic and version
    while at < len(data):
        kind = data[at]
        size, at = leb128(data, at + 1)
        start, end = at, at + size
        name = None
        if kind == 0:
            length, after = leb128(data, start)
            name = data[after:after + length].decode("utf-8", "replace")
        yield kind, name, start, end
        at = end


def imported_functions(data, start, end):
    count, at = leb128(data, start)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, at = leb128(data, at)
            at += length
        kind = data[at]
        at += 1
        if kind == 0:  # function: a type index
            _, at = leb128(data, at)
            functions += 1
        elif kind == 1:  # table: reftype, limits
            at += 1
            flags, at = leb128(data, at)
            _, at = leb128(data, at)
            if flags & 1:
                _, at = leb128(data, at)
        elif kind == 2:  # memory: limits
            flags, at = leb128(data, at)
            _, at = leb128(data, at)
            if flags & 1:
                _, at = leb128(data, at)
        elif kind == 3:  # global: type, mutability
            at += 2
        else:  # tag
            at += 1
            _, at = leb128(data, at)
    return functions


def body_sizes(data, start):
    count, at = leb128(data, start)
    sizes = []
    for _ in range(count):
        size, at = leb128(data, at)
        sizes.append(size)
        at += size
    return sizes


def function_names(data, start, end):
    length, at = leb128(data, start)
    at += length  # the custom section's own name, "name"
    names = {}
    while at < end:
        kind = data[at]
        size, at = leb128(data, at + 1)
        if kind == 1:  # function names
            count, inner = leb128(data, at)
            for _ in range(count):
                index, inner = leb128(data, inner)
                length, inner = leb128(data, inner)
                names[index] = data[inner:inner + length].decode("utf-8", "replace")
                inner += length
        at += size
    return names


def crate_of(name):
    """The crate a symbol belongs to: the first path segment of a (legacy-mangled or demangled)
    Rust name, the generic's crate for `<T as Trait>` impls."""
    if name.startswith("_ZN"):
        match = re.match(r"_ZN(\d+)", name)
        if not match:
            return "?"
        first = name[len(match.group(0)):len(match.group(0)) + int(match.group(1))]
        # An impl's first segment is `<Type as Trait>`, escaped: the type's crate.
        return crate_of(first) if first.startswith(("_$LT$", "$LT$")) else first
    # Legacy mangling's escapes as the name section keeps them: `_$LT$` <, `$RF$` &, `$u20$` space, `..` ::.
    for escaped, plain in (("_$LT$", "<"), ("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$u20$", " "), ("..", "::")):
        name = name.replace(escaped, plain)
    name = name.lstrip("<&* ")
    name = name[4:] if name.startswith("mut ") else name
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    return match.group(1) if match else "(other)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("module")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    data = open(args.module, "rb").read()
    imports, sizes, names, code = 0, [], {}, 0
    for kind, name, start, end in sections(data):
        if kind == 2:
            imports = imported_functions(data, start, end)
        elif kind == 10:
            sizes = body_sizes(data, start)
            code = end - start
        elif kind == 0 and name == "name":
            names = function_names(data, start, end)
    if not names:
        raise SystemExit(f"{args.module} has no name section: run it on cargo's module, before wasm-bindgen")
    per_crate = collections.defaultdict(lambda: [0, 0])
    for index, size in enumerate(sizes):
        crate = crate_of(names.get(imports + index, "(unnamed)"))
        per_crate[crate][0] += size
        per_crate[crate][1] += 1
    total = sum(sizes)
    print(f"{args.module}: {len(data):,} bytes, code section {code:,} bytes in {len(sizes):,} functions\n")
    print("| crate | code bytes | share | functions |\n|---|---|---|---|")
    ranked = sorted(per_crate.items(), key=lambda item: -item[1][0])
    for crate, (size, count) in ranked[:args.top]:
        print(f"| {crate} | {size:,} | {100 * size / total:.1f} % | {count:,} |")
    rest = ranked[args.top:]
    if rest:
        size = sum(s for _, (s, _) in rest)
        print(f"| ({len(rest)} more) | {size:,} | {100 * size / total:.1f} % | {sum(c for _, (_, c) in rest):,} |")


if __name__ == "__main__":
    main()
