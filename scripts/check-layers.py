#!/usr/bin/env python3
"""No module of the `shared` crate imports from a layer above its own.

The layers, lowest first, are the ones `shared/src/lib.rs` describes. A module may use its
own layer and those below; `service` and `adapters` stand side by side and may not use each
other, nor may `aws` and `http`. Test code (`#[cfg(test)]` modules, `tests.rs` files) is
exempt: tests wire layers together on purpose.

The pure layers (`domain`, `crypto`, `service`) also name no AWS SDK or Lambda crate
(`aws_sdk_*`, `aws_config`, `aws_smithy_*`, `lambda_http`, `lambda_runtime`): those belong to
the adapters and the edge.

Reads every `crate::<top>` path in non-test code (in `use` lines and inline paths alike) and
prints each offending line; exit 1 if there is one. `--list` prints the import graph.
"""

import pathlib
import re
import sys

RANK = {
    "domain": 0,
    "error": 0,
    "ports": 0,
    "telemetry": 0,
    "config": 1,
    "crypto": 2,
    "service": 3,
    "adapters": 3,
    "aws": 4,
    "http": 4,
    "app": 5,
}
# Same rank, still forbidden: siblings that must not know each other.
SIBLINGS = {("service", "adapters"), ("adapters", "service"), ("aws", "http"), ("http", "aws")}

# Macros exported at the crate root (`#[macro_export]`), by the layer that defines them.
MACROS = {"security_event": "telemetry"}
# Layers that must not name an AWS or Lambda crate, and what counts as one.
PURE = {"domain", "crypto", "service"}
EDGE_CRATE = re.compile(r"\b(aws_sdk_\w+|aws_config|aws_smithy_\w+|aws_types|lambda_http|lambda_runtime)::")

SRC = pathlib.Path(__file__).resolve().parent.parent / "shared" / "src"
PATH = re.compile(r"\bcrate::(\w+)")
# `use crate::{a::x, b::y}`: each item of a braced crate-root import.
BRACED = re.compile(r"\bcrate::\{([^}]*)\}", re.S)


def layer_of(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs")


def strip_tests(text: str) -> str:
    """The text without `#[cfg(test)]` items (a module or a function, to its closing brace)."""
    out, i = [], 0
    while True:
        j = text.find("#[cfg(test)]", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        k = text.find("{", j)
        semi = text.find(";", j)
        if semi >= 0 and (k < 0 or semi < k):  # `#[cfg(test)] mod tests;`
            i = semi + 1
            continue
        depth = 0
        for m in range(k, len(text)):
            if text[m] == "{":
                depth += 1
            elif text[m] == "}":
                depth -= 1
                if depth == 0:
                    i = m + 1
                    break
        else:
            return "".join(out)


def without_comments(text: str) -> str:
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def main() -> int:
    problems, graph = [], {}
    for path in sorted(SRC.rglob("*.rs")):
        if path.name == "lib.rs" or path.name == "tests.rs":
            continue
        me = layer_of(path)
        if me not in RANK:
            problems.append(f"{path.relative_to(SRC)}: module {me!r} is in no layer")
            continue
        code = without_comments(strip_tests(path.read_text()))
        used = set(PATH.findall(code))
        for group in BRACED.findall(code):
            used |= {item.strip().split("::")[0] for item in group.split(",") if item.strip()}
        used = {MACROS.get(u, u) for u in used}
        used.discard(me)
        graph.setdefault(me, set()).update(used)
        if me in PURE:
            for crate in sorted(set(EDGE_CRATE.findall(code))):
                problems.append(f"{path.relative_to(SRC)}: {me} names {crate}, an AWS or Lambda crate (adapters and the edge only)")
        for other in sorted(used):
            if other not in RANK:
                problems.append(f"{path.relative_to(SRC)}: crate::{other} is in no layer")
            elif RANK[other] > RANK[me] or (me, other) in SIBLINGS:
                problems.append(
                    f"{path.relative_to(SRC)}: {me} (layer {RANK[me]}) imports crate::{other} "
                    f"(layer {RANK[other]})"
                )
    if "--list" in sys.argv:
        for me in sorted(graph, key=lambda m: (RANK[m], m)):
            print(f"{me} ({RANK[me]}) -> {', '.join(sorted(graph[me])) or '-'}")
    for p in problems:
        print(f"check-layers: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-layers: {sum(1 for _ in SRC.rglob('*.rs'))} files, no upward imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
