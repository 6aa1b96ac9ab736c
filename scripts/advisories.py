#!/usr/bin/env python3
"""Which locked crate versions an advisory of the RustSec database affects (what `cargo audit`
reports, without installing it): every `crates/<name>/*.md` advisory of a crate in Cargo.lock,
withdrawn ones skipped, affected unless the version is `patched` or `unaffected`.

Usage: advisories.py ADVISORY_DB_DIR [Cargo.lock]   (a clone of github.com/rustsec/advisory-db)
Exit 1 if any locked version is affected.
"""
import pathlib
import re
import sys
import tomllib


def version(text):
    parts = [int(x) for x in re.split(r"[-+]", text)[0].split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def matches(v, requirement):
    """A Cargo requirement (comparators joined by commas; bare = caret)."""
    for comparator in requirement.split(","):
        op, bound = re.match(r"\s*(>=|<=|>|<|=|\^|~)?\s*(\S+)", comparator).groups()
        b = version(bound)
        if op in (None, "^"):
            upper = (b[0] + 1, 0, 0) if b[0] else (0, b[1] + 1, 0) if b[1] else (0, 0, b[2] + 1)
            ok = b <= v < upper
        elif op == "~":
            ok = b <= v < (b[0], b[1] + 1, 0)
        else:
            ok = {">=": v >= b, ">": v > b, "<=": v <= b, "<": v < b, "=": v == b}[op]
        if not ok:
            return False
    return True


def main(db, lock):
    locked = set(re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', pathlib.Path(lock).read_text()))
    found = 0
    for name, v in sorted(locked):
        for md in sorted(pathlib.Path(db, "crates", name).glob("*.md")):
            text = md.read_text()
            meta = tomllib.loads(re.search(r"```toml\n(.*?)```", text, re.S).group(1))
            title = (re.search(r"^# (.+)$", text, re.M) or [None, ""])[1]
            advisory, ranges = meta["advisory"], meta.get("versions", {})
            if advisory.get("withdrawn"):
                continue
            safe = ranges.get("patched", []) + ranges.get("unaffected", [])
            if not any(matches(version(v), r) for r in safe):
                found += 1
                kind = advisory.get("informational", "vulnerability")
                print(f"{advisory['id']}  {name} {v}  ({kind})  {title}")
    print(f"{found} advisories affect {len(locked)} locked crate versions")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "Cargo.lock"))
