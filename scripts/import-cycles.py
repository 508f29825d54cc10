#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

`scripts/import-cycles.py app/src server/src` reads every `crate::…` and `super::…`
path in each crate's sources (comments and `#[cfg(test)]` modules left out), maps it to
the top-level module it names, and lists every group of top-level modules that reach
one another. Layers point one way (domain ← rules ← engine ← http; map engine ← live ←
faces); a circle means two modules can no longer be read, tested or moved apart.
"""

import os
import re
import sys


def module_of(root, path):
    parts = os.path.relpath(path, root)[: -len(".rs")].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def edges(root):
    sources = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    sources[tuple(module_of(root, path))] = f.read()
    found = {}
    for parts, text in sources.items():
        text = text.split("#[cfg(test)]")[0]
        text = re.sub(r"//[^\n]*", "", text)
        if not parts:
            continue
        for kind, rest in re.findall(r"\b(crate|super)::([a-z_][a-z0-9_]*)", text):
            if kind == "crate":
                target = rest
            else:
                # `super::x` from `a/b.rs` names `a::x`; from `a/mod.rs`, the parent's `x`.
                parent = parts[:-1]
                target = parent[0] if parent else rest
            if any(p and p[0] == target for p in sources):
                if target != parts[0]:
                    found.setdefault(parts[0], set()).add(target)
    return found


def circles(graph):
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main(roots):
    failed = False
    for root in roots:
        graph = edges(root)
        for group in circles(graph):
            failed = True
            print(f"{root}: modules import each other in a circle: {', '.join(group)}")
            for a in group:
                for b in sorted(graph.get(a, ())):
                    if b in group:
                        print(f"    {a} -> {b}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
