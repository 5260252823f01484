"""Which CSS/HTML features of the report cost WeasyPrint the most time (a probe, not a test).

Usage::

    python bench/report.py --quick --html-dir /tmp/bench/html     # writes demo.html, …
    python bench/css_probe.py /tmp/bench/html/demo.html [more.html] [--reps 3] [--split]

Each variant changes a copy of ``static/css/report.css`` (kept in memory) and/or the report's
HTML string, then times WeasyPrint alone (layout + PDF, ``pdf/ua-1``, median CPU seconds of
``--reps`` runs; CPU time is less disturbed than wall time by other work on the machine).
Nothing in the tree is changed. ``--split`` also renders the field chapters as two
documents in two processes and joins them with pypdf (page numbers, the table of contents
and the PDF/UA structure tree are then wrong: an estimate of the speed-up only).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
CSS_TEXT = (STATIC / "css" / "report.css").read_text(encoding="utf-8")

FACTS = re.compile(r'<table class="measure-facts">\s*<tbody>(.*?)</tbody>\s*</table>', re.S)
ROW = re.compile(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', re.S)
SOLID = {"planned": "#56B4E9", "delayed": "#D55E00", "ongoing": "#CC79A7",
         "on_hold": "#E69F00", "not_started": "#999999", "none": "#ffffff"}


def _sub(pattern: str, repl: str, count: int = 0, flags: int = re.S) -> Callable[[str], str]:
    def apply(text: str) -> str:
        new, n = re.subn(pattern, repl, text, count=count, flags=flags)
        if not n:
            raise ValueError(f"variant pattern not found: {pattern!r}")
        return new
    return apply


def _facts_as(kind: str) -> Callable[[str], str]:
    def row(match: re.Match[str]) -> str:
        key, value = match.group(1), match.group(2)
        if kind == "dl":
            return f"<dt>{key}</dt><dd>{value}</dd>"
        return f'<div class="fact"><span class="k">{key}</span> {value}</div>'

    def apply(html: str) -> str:
        tag = "dl" if kind == "dl" else "div"
        return FACTS.sub(lambda m: f'<{tag} class="measure-facts">'
                         f"{ROW.sub(row, m.group(1).strip())}</{tag}>", html)
    return apply


def _no_patterns(html: str) -> str:
    html = re.sub(r"<pattern .*?</pattern>", "", html, flags=re.S)
    return re.sub(r'fill="url\(#p-(\w+)\)"', lambda m: f'fill="{SOLID[m.group(1)]}"', html)


FIXED = ".measure-facts { table-layout: fixed; }"
CSS_DL = (".measure-facts { display: grid; grid-template-columns: 38mm 1fr; margin: 0; }"
          ".measure-facts dt { font-weight: bold; color: #222; padding: .6mm 1.5mm .6mm 0; }"
          ".measure-facts dd { margin: 0; padding: .6mm 0; }")
CSS_DIV = (".fact { padding: .6mm 0 .6mm 38mm; }"
           ".fact .k { display: inline-block; width: 38mm; margin-left: -38mm;"
           " font-weight: bold; color: #222; }")

#: name → (CSS transform, HTML transform, pdf_variant)
Variant = tuple[Callable[[str], str], Callable[[str], str], str | None]
KEEP: Callable[[str], str] = lambda text: text  # noqa: E731
VARIANTS: dict[str, Variant] = {
    "baseline": (KEEP, KEEP, "pdf/ua-1"),
    "no hyphens:auto": (_sub(r"hyphens: auto;", "hyphens: manual;"), KEEP, "pdf/ua-1"),
    # report.css has had "table-layout: fixed" since the first probe: this shows it undone.
    "facts table-layout:" + ("auto" if FIXED in CSS_TEXT else "fixed"): (
        (lambda c: c.replace(FIXED, "")) if FIXED in CSS_TEXT else (lambda c: c + FIXED),
        KEEP, "pdf/ua-1"),
    "facts as dl grid": (lambda c: c + CSS_DL, _facts_as("dl"), "pdf/ua-1"),
    "facts as divs": (lambda c: c + CSS_DIV, _facts_as("div"), "pdf/ua-1"),
    "no break-inside:avoid": (
        _sub(r"(\.measure \{) break-inside: avoid;", r"\1"), KEEP, "pdf/ua-1"),
    "no break-after:avoid": (_sub(r" break-after: avoid;", ""), KEEP, "pdf/ua-1"),
    "SVG without patterns": (KEEP, _no_patterns, "pdf/ua-1"),
    "no SVG chart": (KEEP, _sub(r'<figure class="chart">.*?</figure>', ""), "pdf/ua-1"),
    "TOC without leader": (
        _sub(r'content: leader\("\."\) " " target-counter', 'content: " " target-counter',
             count=1), KEEP, "pdf/ua-1"),
    "TOC without page numbers": (
        _sub(r'\.toc a::after \{ content: leader[^}]*\}', "", count=1), KEEP, "pdf/ua-1"),
    "no string-set headers": (
        lambda c: _sub(r"string-set: \w+ content\(\);", "")(
            _sub(r"@top-(left|right) \{ content: string\(\w+\);[^}]*\}", "")(c)),
        KEEP, "pdf/ua-1"),
    "footer without 'von N'": (
        _sub(r'" von " counter\(pages\)', ""), KEEP, "pdf/ua-1"),
    "no PDF/UA tagging": (KEEP, KEEP, None),
    "fixed + no hyphens": (
        lambda c: _sub(r"hyphens: auto;", "hyphens: manual;")(c)
        + ".measure-facts { table-layout: fixed; }", KEEP, "pdf/ua-1"),
    "divs + no hyphens": (
        lambda c: _sub(r"hyphens: auto;", "hyphens: manual;")(c) + CSS_DIV, _facts_as("div"),
        "pdf/ua-1"),
    "fixed + no hyph. + no TOC nos": (
        lambda c: _sub(r'\.toc a::after \{ content: leader[^}]*\}', "", count=1)(
            _sub(r"hyphens: auto;", "hyphens: manual;")(c))
        + ".measure-facts { table-layout: fixed; }", KEEP, "pdf/ua-1"),
}


def render(html: str, css_text: str, variant: str | None = "pdf/ua-1") -> tuple[bytes, int]:
    """WeasyPrint as render_pdf() calls it; the PDF and its page count."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(string=css_text, base_url=str(STATIC / "css") + "/", font_config=fonts)
    document = HTML(string=html, base_url=str(STATIC)).render(
        stylesheets=[css], font_config=fonts, pdf_variant=variant)
    pdf = document.write_pdf(pdf_variant=variant, uncompressed_pdf=False)
    assert isinstance(pdf, bytes)
    return pdf, len(document.pages)


def _cpu(html: str, css_text: str, variant: str | None, reps: int) -> tuple[float, int]:
    times, pages = [], 0
    for _ in range(reps):
        start = time.process_time()
        _, pages = render(html, css_text, variant)
        times.append(time.process_time() - start)
    return statistics.median(times), pages


def _parts(html: str) -> list[str]:
    """Cover … first half of the fields | the other fields and the annex; split by size."""
    body = html.index("<body")
    body = html.index(">", body) + 1
    starts = [m.start() for m in re.finditer(r'<section id="feld-', html)]
    cut = min(starts, key=lambda s: abs(len(html) - 2 * s))
    return [html[:cut] + "</body></html>", html[:body] + html[cut:]]


def _render_part(html: str) -> bytes:
    return render(html, CSS_TEXT)[0]


def split_probe(html: str) -> None:
    """Wall time: one process vs. two parts in two processes joined with pypdf."""
    from pypdf import PdfReader, PdfWriter

    start = time.perf_counter()
    _, pages = render(html, CSS_TEXT)
    one = time.perf_counter() - start
    parts = _parts(html)
    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    with ctx.Pool(2) as pool:
        pdfs = pool.map(_render_part, parts)
    rendered = time.perf_counter() - start
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(io.BytesIO(pdf)))
    out = io.BytesIO()
    writer.write(out)
    two = time.perf_counter() - start
    joined = PdfReader(io.BytesIO(out.getvalue()))
    has_tree = "/StructTreeRoot" in joined.root_object
    shares = "/".join(f"{len(p) * 100 // len(html)}%" for p in parts)
    print(f"  split ({shares} of the HTML): 1 process {one:6.2f} s wall ({pages} p.), "
          f"2 processes {rendered:6.2f} s + join {two - rendered:4.2f} s = {two:6.2f} s "
          f"({len(joined.pages)} p.), speed-up {one / two:4.2f}x; joined PDF keeps a "
          f"structure tree: {has_tree}; load {os.getloadavg()[0]:.1f}")


def main() -> None:
    """Run every variant on every given HTML file and print CPU seconds per variant."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="+", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--split", action="store_true", help="also the two-process estimate")
    args = parser.parse_args()
    render("<html lang='de'><title>w</title><p>warm up</p></html>", CSS_TEXT)
    chosen = {name: v for name, v in VARIANTS.items()
              if not args.only or name in args.only or name == "baseline"}
    for path in args.html:
        html = path.read_text(encoding="utf-8")
        print(f"{path.name} ({len(html) // 1024} KB HTML), median CPU s of {args.reps} "
              "(variants interleaved, so that drift of the machine's speed hits all alike):",
              flush=True)
        inputs = {name: (html_fn(html), css_fn(CSS_TEXT), variant)
                  for name, (css_fn, html_fn, variant) in chosen.items()}
        times: dict[str, list[float]] = {name: [] for name in chosen}
        pages: dict[str, int] = {}
        for _ in range(args.reps):
            for name, (variant_html, css_text, variant) in inputs.items():
                seconds, pages[name] = _cpu(variant_html, css_text, variant, 1)
                times[name].append(seconds)
        base = statistics.median(times["baseline"])
        for name, values in times.items():
            seconds = statistics.median(values)
            print(f"  {name:<28}{seconds:7.2f} s {100 * (seconds / base - 1):+6.0f} %"
                  f"{pages[name]:5d} p.  (min {min(values):.2f}, max {max(values):.2f})",
                  flush=True)
        print(f"  load average now {os.getloadavg()[0]:.1f}")
        if args.split:
            split_probe(html)


if __name__ == "__main__":
    main()
