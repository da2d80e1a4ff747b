"""Every document the code cites is in the repository, down to the section.

Comments and docstrings in src/, tests/ and bench/ cite documents as `docs/behaviour.md#lists-and-search` (a file and
the GitHub anchor of one of its headings) or `docs/operations.md` (the whole file), paths from the repository's
root. The Markdown links between the documents are held to the same rule.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = ("src", "tests", "bench")
DOCUMENTS = sorted([*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")])

#: A cited Markdown file, with an optional `#anchor`: `docs/decisions.md#bulk-results`, `CONTRIBUTING.md`.
CITATION = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w.-]+\.md)(?:#([\w-]+))?")
#: Sources outside the repository that comments once cited by section.
OUTSIDE = re.compile(r"digest\s*§|§\s*\d")
#: A section named in words rather than by its anchor: after the `.md`, a colon, a comma and a quoted or capitalised
#: title, or a parenthesised title.
SECTION_IN_WORDS = re.compile(r"\.md(?::\s|,\s*[\"A-Z]|\s\((?=[A-Z\"]))")
#: A Markdown link to a local document, `[text](<file>.md#<anchor>)`, or to a section of the same one.
LINK = re.compile(r"\]\((?!https?:)([^)\s#]*)(?:#([^)\s]+))?\)")
FENCE = re.compile(r"^(```|~~~)")
#: Folders of generated, unversioned files (bench/results/), which the code may name although they are not here.
GENERATED = tuple(
    line.strip()
    for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    if line.strip().endswith("/")
)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(document: Path) -> frozenset[str]:
    """The anchors of every heading of a Markdown file (code blocks skipped; repeated headings get -1, -2, …)."""
    found: list[str] = []
    in_code = False
    for line in document.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and (match := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            anchor = slug(match.group(1))
            repeats = found.count(anchor) + sum(1 for a in found if re.fullmatch(re.escape(anchor) + r"-\d+", a))
            found.append(f"{anchor}-{repeats}" if repeats else anchor)
    return frozenset(found)


def python_prose(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and every string that stands alone as a statement (docstrings)."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            yield node.lineno, node.value.value


def sql_prose(source: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(source.splitlines(), start=1):
        if "--" in line:
            yield number, line[line.index("--") :]


def prose() -> Iterator[tuple[str, int, str]]:
    """(file, line, text) of the comments and docstrings of the code."""
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".sql") or ".venv" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            found = python_prose(source) if path.suffix == ".py" else sql_prose(source)
            for line, text in found:
                yield str(path.relative_to(ROOT)), line, text


def unresolved(target: Path, anchor: str | None) -> str | None:
    """Why a citation of `target` (and `anchor`) does not resolve, None when it does."""
    if not target.is_file():
        return "no such file"
    if anchor is not None and anchor not in anchors(target):
        return f"no heading with the anchor #{anchor}"
    return None


def citations() -> list[tuple[str, int, str, str | None]]:
    return [
        (where, line, match.group(1), match.group(2))
        for where, line, text in prose()
        for match in CITATION.finditer(text)
        if not match.group(1).startswith(GENERATED)
    ]


def test_the_code_cites_documents() -> None:
    """The search itself works: the code does cite documents and their sections."""
    cited = {(path, anchor) for _, _, path, anchor in citations()}
    assert ("docs/decisions.md", "bulk-results") in cited
    assert len(cited) > 40


def test_every_cited_document_and_section_exists() -> None:
    broken = [
        f"{where}:{line}: {path}{'#' + anchor if anchor else ''}: {reason}"
        for where, line, path, anchor in citations()
        if (reason := unresolved(ROOT / path, anchor))
    ]
    assert not broken, "Citations that do not resolve (cite docs/<file>.md#<heading-anchor>):\n" + "\n".join(broken)


def test_nothing_outside_the_repository_is_cited_by_section() -> None:
    outside = [f"{where}:{line}: {text.strip()}" for where, line, text in prose() if OUTSIDE.search(text)]
    assert not outside, "Cite the repository's own documents instead:\n" + "\n".join(outside)


def test_sections_are_cited_by_anchor() -> None:
    in_words = [f"{where}:{line}: {text.strip()}" for where, line, text in prose() if SECTION_IN_WORDS.search(text)]
    assert not in_words, "Cite a section as docs/<file>.md#<heading-anchor>:\n" + "\n".join(in_words)


def test_links_between_documents_resolve() -> None:
    broken = []
    for document in DOCUMENTS:
        in_code = False
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
            if FENCE.match(line):
                in_code = not in_code
                continue
            for match in [] if in_code else LINK.finditer(line):
                target = (document.parent / match.group(1)) if match.group(1) else document
                if match.group(1) and not match.group(1).endswith(".md"):
                    continue
                if reason := unresolved(target, match.group(2)):
                    broken.append(f"{document.relative_to(ROOT)}:{number}: {match.group(0)}: {reason}")
    assert not broken, "Links that do not resolve:\n" + "\n".join(broken)


def test_anchors_follow_github() -> None:
    assert slug("Storefront: my items, my category tree, match") == "storefront-my-items-my-category-tree-match"
    assert slug("The customer's own account (`customer-login.yml`)") == "the-customers-own-account-customer-loginyml"
    assert slug("Connection poolers (pgbouncer)") == "connection-poolers-pgbouncer"
