#!/usr/bin/env bash
# Import circles: fails (exit 1, printing each circle) when two or more top-level modules of one
# crate use each other, directly or through others.
#
# For every crate of the workspace (the root `src/` and each member's `src/`), each top-level
# module (`src/x.rs` with `src/x/`, or `src/x/mod.rs`) is one node, and `crate::x::...` or
# `use crate::{x::..., ...}` in any of its files is an edge to module `x`. Comments, strings and
# items under `#[cfg(test)]` are ignored, `super::` and `self::` paths too (they stay inside a
# module); the crate root (`lib.rs`, `main.rs`) is no node, and a name it re-exports
# (`crate::Name`, the flat API) is no edge unless `--reexports` is given (then `crate::Name`
# counts as a use of the module `lib.rs` re-exports it from). Binaries under `src/bin/` are
# crates of one file each.
#
# `.ci/import-circles.allow` lists circles known and tolerated for now, one a line:
# `CRATE MODULE MODULE` (CRATE: the member's directory, `.` for the root). A circle is allowed
# only when it is exactly that pair.
#
# Usage: .ci/import-circles.sh [--reexports]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$PWD" "$@" <<'PY'
import os
import re
import sys

root = sys.argv[1]
REEXPORTS = "--reexports" in sys.argv[2:]
ALLOW = os.path.join(root, ".ci", "import-circles.allow")

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
CHAR_LIT = re.compile(r"'(?:[^'\\\n]|\\(?:[nrt0\\'\"]|x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}))'")


def strip(src):
    """The source with comments removed and string and char literals blanked (lines kept)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if src[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 300]) and (i == 0 or not re.match(r"\w", src[i - 1])):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            end = src.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * src.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "'":
            m = CHAR_LIT.match(src, i)
            if m:
                out.append("' '")
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def group_items(code, start):
    """The first segment of each item of the use-tree group opening at `start` (a `{`)."""
    depth, i, item, items = 0, start, "", []
    while i < len(code):
        c = code[i]
        if c == "{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == "}":
            depth -= 1
            if depth == 0:
                items.append(item)
                break
        if depth == 1 and c == ",":
            items.append(item)
            item = ""
        elif depth >= 1:
            item += c
        i += 1
    firsts = []
    for it in items:
        m = re.match(r"\s*(" + IDENT + r")", it)
        if m:
            firsts.append(m.group(1))
    return firsts


REF = re.compile(r"(?<![\w$:])crate\s*::\s*(\{|" + IDENT + ")")


def drop_tests(code):
    """The code without the items under `#[cfg(test)]` (blanked, lines kept)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", code):
        if m.start() < i:
            continue
        j, depth = m.end(), 0
        while j < len(code):
            c = code[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        out.append(code[i:m.start()])
        out.append("\n" * code.count("\n", m.start(), j))
        i = j
    out.append(code[i:])
    return "".join(out)


def references(code):
    """(line, name) for every `crate::name` and every item of a `crate::{...}` group."""
    refs = []
    for m in REF.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        if m.group(1) == "{":
            refs += [(line, name) for name in group_items(code, m.start(1))]
        else:
            refs.append((line, m.group(1)))
    return refs


def reexports(root_code):
    """Names the crate root re-exports, mapped to the top-level module they come from."""
    names = {}
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", root_code):
        tree = re.sub(r"\s+", "", m.group(1))
        tree = tree[len("crate::"):] if tree.startswith("crate::") else tree
        head, _, rest = tree.partition("::")
        if not rest:
            continue
        for leaf in re.findall(r"(" + IDENT + r")(?:as(" + IDENT + r"))?(?=[,}]|$)", rest):
            names[leaf[1] or leaf[0]] = head
    return names


def crates():
    """(label, src dir, root file) of every crate of the workspace."""
    text = open(os.path.join(root, "Cargo.toml"), encoding="utf-8").read()
    m = re.search(r"members\s*=\s*\[([^\]]*)\]", text)
    members = re.findall(r'"([^"]+)"', m.group(1)) if m else ["."]
    if "." not in members:
        members.insert(0, ".")
    for member in members:
        src = os.path.normpath(os.path.join(root, member, "src"))
        for rootfile in ("lib.rs", "main.rs"):
            if os.path.isfile(os.path.join(src, rootfile)):
                yield member, src, rootfile
                break


def module_files(src, rootfile):
    """Top-level module name -> its files."""
    mods = {}
    for entry in sorted(os.listdir(src)):
        path = os.path.join(src, entry)
        if entry.endswith(".rs") and os.path.isfile(path) and entry not in ("lib.rs", "main.rs"):
            mods.setdefault(entry[:-3], []).append(path)
        elif os.path.isdir(path) and entry != "bin":
            for d, _, files in os.walk(path):
                mods.setdefault(entry, []).extend(
                    os.path.join(d, f) for f in sorted(files) if f.endswith(".rs"))
    return mods


def sccs(nodes, edges):
    """Strongly connected components (Tarjan), iteratively."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for v in nodes:
        if v in index:
            continue
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def a_cycle(comp, edges):
    """One circle through the component's first module (shortest, by breadth-first search)."""
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


allowed = set()
if os.path.isfile(ALLOW):
    for raw in open(ALLOW, encoding="utf-8"):
        words = raw.split("#", 1)[0].split()
        if len(words) == 3:
            allowed.add((os.path.normpath(words[0]), frozenset(words[1:])))
        elif words:
            print(f"{ALLOW}: ignored line (want CRATE MODULE MODULE): {raw.strip()}", file=sys.stderr)

failed, seen_allowed = False, set()
for member, src, rootfile in crates():
    mods = module_files(src, rootfile)
    root_names = reexports(strip(open(os.path.join(src, rootfile), encoding="utf-8").read()))
    edges, why = {}, {}
    for mod, files in mods.items():
        for f in files:
            code = drop_tests(strip(open(f, encoding="utf-8").read()))
            for line, name in references(code):
                target = name if name in mods else root_names.get(name) if REEXPORTS else None
                if target is None or target == mod or target not in mods:
                    continue
                edges.setdefault(mod, set()).add(target)
                why.setdefault((mod, target), []).append(
                    f"{os.path.relpath(f, root)}:{line} ({name})")
    for comp in sccs(sorted(mods), edges):
        key = (os.path.normpath(member), frozenset(comp))
        if len(comp) == 2 and key in allowed:
            seen_allowed.add(key)
            print(f"allowed (.ci/import-circles.allow): {os.path.relpath(src, root)}: "
                  f"{' <-> '.join(comp)}")
            continue
        failed = True
        cycle = a_cycle(comp, edges)
        print(f"import circle in {os.path.relpath(src, root)}/: {' -> '.join(cycle)}"
              + (f" (modules in the circle: {', '.join(comp)})" if len(comp) + 1 > len(cycle) else ""))
        for a, b in zip(cycle, cycle[1:]):
            refs = why[(a, b)]
            more = f" and {len(refs) - 3} more" if len(refs) > 3 else ""
            print(f"  {a} uses {b}: {', '.join(refs[:3])}{more}")

for member, pair in sorted(allowed - seen_allowed, key=lambda k: (k[0], sorted(k[1]))):
    print(f"note: .ci/import-circles.allow: {member} {' '.join(sorted(pair))} is no circle any more: "
          "remove the line")

if failed:
    sys.stdout.flush()
    print("import circles found: move what both modules need to a module of its own, "
          "or turn one use around", file=sys.stderr)
    sys.exit(1)
print("no import circles")
PY
