"""How the running app copes with hostile spreadsheet uploads: time, memory, other users.

Usage::

    .venv/bin/python bench/uploads.py [--cases shared_strings,zip_bomb,...] [--timeout 180]
                                      [--memory-limit 8000]

Builds hostile .xlsx workbooks in memory, writing their zip and XML parts directly (files
of kilobytes to a few megabytes that claim millions of strings, rows, columns, styles or
nesting levels, a zip bomb, a billion-laughs DTD) and, for comparison, a large valid
import made with the project's own template (``bench/transfer.py``). Every file stays
under the upload limit (``HKI_UPLOAD_MAX_MB``, default 20).

Then serves the app as production does – gunicorn with ``scripts/gunicorn.conf.py``, ONE
worker process with 4 threads, ``HKI_TIMEOUT=300`` so gunicorn does not kill a slow
request – on a free loopback port, with a fresh SQLite database in a temporary instance
folder, migrated and seeded with the demo plan as ``scripts/run`` does. Two differences to
``scripts/serve``, both about the throwaway set-up, not about reading uploads: the app is
made by ``hki:create_app()`` because ``hki.wsgi`` (rightly) refuses SQLite, and plain HTTP
with ``HKI_SECURE_COOKIES=0`` because there is no TLS in front.

For each case the demo coordinator posts the file to ``/import`` (as the upload page does,
CSRF token included) while the demo council member keeps reading the plan's dashboard.
Measured: wall time and HTTP status of the upload, the first German message of the answer
page, the worker's extra peak memory (its peak RSS is reset through
``/proc/<pid>/clear_refs`` before the upload; ``VmHWM`` afterwards minus ``VmRSS`` before),
and the reader's latencies during the upload against the same page idle just before. A
request that times out, a worker that dies, or one that passes ``--memory-limit`` (then
killed, to protect the machine) is reported. Every case gets a freshly started server, so
that memory one case left in the worker neither hides nor inflates the next one's.

Prints a table and the worst case against the budget of 30 s and 300 MB per upload; the
exit code is 1 when a case passes the budget or gets no proper answer (timeout, crash, 5xx).
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookiejar
import importlib.util
import io
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

ROOT = Path(__file__).resolve().parent.parent
#: The budget an upload must stay within, whatever the file claims.
BUDGET_SECONDS = 30.0
BUDGET_MB = 300.0
UPLOAD_MAX_MB = int(os.environ.get("HKI_UPLOAD_MAX_MB", "20"))
#: Public demo logins (README, "Demo accounts"; hki/demo/seed.py).
DEMO_PASSWORD = "hki-demo-2026"
COORDINATOR = "koordination@demo.hki.invalid"
READER = "rat@demo.hki.invalid"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Chunks = Iterable[bytes]

# --- Workbooks ---------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_HEAD = XML_HEAD + f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{DOC_REL}">'.encode()
#: Bytes per generated chunk: large enough to be fast, small enough to stay lean.
CHUNK = 1 << 20


def _content_types(shared: bool, styles: bool) -> bytes:
    ns = "http://schemas.openxmlformats.org/package/2006/content-types"
    ml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = [
        f'<Override PartName="/xl/workbook.xml" ContentType="{ml}.sheet.main+xml"/>',
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ml}.worksheet+xml"/>',
    ]
    if shared:
        parts.append(f'<Override PartName="/xl/sharedStrings.xml" '
                     f'ContentType="{ml}.sharedStrings+xml"/>')
    if styles:
        parts.append(f'<Override PartName="/xl/styles.xml" ContentType="{ml}.styles+xml"/>')
    return XML_HEAD + (
        f'<Types xmlns="{ns}">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'{"".join(parts)}</Types>').encode()


def _workbook_rels(shared: bool, styles: bool) -> bytes:
    rels = [f'<Relationship Id="rId1" Type="{DOC_REL}/worksheet" '
            'Target="worksheets/sheet1.xml"/>']
    if shared:
        rels.append(f'<Relationship Id="rId2" Type="{DOC_REL}/sharedStrings" '
                    'Target="sharedStrings.xml"/>')
    if styles:
        rels.append(f'<Relationship Id="rId3" Type="{DOC_REL}/styles" Target="styles.xml"/>')
    return XML_HEAD + f'<Relationships xmlns="{PKG_REL}">{"".join(rels)}</Relationships>'.encode()


def package(sheet: Chunks, shared: Chunks | None = None, styles: Chunks | None = None,
            sheet_name: str = "Plan") -> bytes:
    """A structurally valid .xlsx around the given parts, streamed into the zip.

    The sheet is called "Plan" so that the importer treats it as the plan sheet and reads
    it, as it would a coordinator's file.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _content_types(shared is not None,
                                                               styles is not None))
        archive.writestr("_rels/.rels", XML_HEAD + (
            f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>').encode())
        archive.writestr("xl/workbook.xml", XML_HEAD + (
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_REL}"><sheets>'
            f'<sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode())
        archive.writestr("xl/_rels/workbook.xml.rels",
                         _workbook_rels(shared is not None, styles is not None))
        parts = {"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": shared,
                 "xl/styles.xml": styles}
        for name, chunks in parts.items():
            if chunks is not None:
                with archive.open(name, "w") as member:
                    _write(member, chunks)
    return out.getvalue()


def _write(member: IO[bytes], chunks: Chunks) -> None:
    """Write chunks, joined to about CHUNK bytes, so that zlib gets large blocks."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= CHUNK:
            member.write(b"".join(pending))
            pending, size = [], 0
    member.write(b"".join(pending))


def sheet_xml(rows: Chunks, dimension: str | None = None, after: bytes = b"") -> Iterator[bytes]:
    """A worksheet part around the given ``<row>`` elements (``after``: e.g. merged cells)."""
    yield SHEET_HEAD
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData>" + after + b"</worksheet>"


def _repeat(unit: bytes, count: int) -> Iterator[bytes]:
    """``unit`` ``count`` times, in chunks of about CHUNK bytes."""
    per_chunk = max(1, CHUNK // len(unit))
    for start in range(0, count, per_chunk):
        yield unit * min(per_chunk, count - start)


def shared_strings() -> bytes:
    """5 million one-letter shared strings (85 MB unpacked): each is an object in the reader."""
    count = 5_000_000

    def strings() -> Iterator[bytes]:
        yield XML_HEAD + (f'<sst xmlns="{MAIN_NS}" count="{count}" '
                          f'uniqueCount="{count}">').encode()
        yield from _repeat(b"<si><t>a</t></si>", count)
        yield b"</sst>"

    rows = [b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>%d</v></c></row>'
            % (count - 1)]
    return package(sheet_xml(rows), shared=strings())


def wide_rows() -> bytes:
    """400 rows of all 16,384 columns (cells without ``r``, which the format allows)."""
    row_cells = b"<c><v>1</v></c>" * 16_384
    rows = (b'<row r="%d">' % r + row_cells + b"</row>" for r in range(1, 401))
    return package(sheet_xml(rows))


def huge_dimension() -> bytes:
    """Three cells that span the whole grid: readers that walk the extent walk 17 G cells."""
    rows = [b'<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>2</v></c></row>',
            b'<row r="1048576"><c r="A1048576"><v>3</v></c></row>']
    return package(sheet_xml(rows, dimension="A1:XFD1048576"))


def merged_grid() -> bytes:
    """One merged range of 1,024 columns × 100,000 rows: openpyxl makes 102 M cells of it."""
    rows = [b'<row r="1"><c r="A1"><v>1</v></c></row>']
    return package(sheet_xml(rows, after=b'<mergeCells count="1"><mergeCell ref="A1:AMJ100000"/>'
                                         b"</mergeCells>"))


def long_texts() -> bytes:
    """3,000 cells of 32,000 characters each (Excel's limit): 96 MB of text in memory."""
    def rows() -> Iterator[bytes]:
        for r in range(1, 3_001):
            text = (b"Integrationskurs %d mit Kinderbetreuung und Fahrtkosten. " % r) * 560
            yield b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>' % (r, r) + text[:32_000] + \
                b"</t></is></c></row>"
    return package(sheet_xml(rows()))


def merges_overlap() -> bytes:
    """400 merged ranges over the same 398,000 cells (found by review): each filled anew."""
    rows = [b'<row r="1"><c r="A1"><v>1</v></c></row>']
    merges = b'<mergeCell ref="A2:AMJ390"/>' * 400
    return package(sheet_xml(rows, after=b"<mergeCells>" + merges + b"</mergeCells>"))


def empty_rows() -> bytes:
    """2.5 million formatted rows without cells (found by review): each a row object."""
    rows = _repeat(b'<row r="5" ht="1" customHeight="1"/>', 2_500_000)
    return package(sheet_xml(rows))


def range_lists() -> bytes:
    """One validation over 3 million ranges (found by review): each range an object."""
    rows = [b'<row r="1"><c r="A1"><v>1</v></c></row>']
    ranges = b" ".join([b"A1:B2"] * 3_000_000)
    return package(sheet_xml(rows, after=b'<dataValidations count="1"><dataValidation sqref="'
                             + ranges + b'"/></dataValidations>'))


def million_rows() -> bytes:
    """Every row of the grid, one small cell each."""
    def rows() -> Iterator[bytes]:
        for start in range(1, 1_048_577, 10_000):
            yield b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, r % 10)
                           for r in range(start, min(start + 10_000, 1_048_577)))
    return package(sheet_xml(rows()))


def deep_xml() -> bytes:
    """A million elements nested inside one cell's inline string."""
    depth = 1_000_000

    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><r><t>tief</t></r>'
        yield from _repeat(b"<x>", depth)
        yield from _repeat(b"</x>", depth)
        yield b"</is></c></row>"
    return package(sheet_xml(rows()))


def styles_flood() -> bytes:
    """Two million cell formats (``<xf>``, 40 MB unpacked) and a cell using the last one."""
    count = 2_000_000

    def styles() -> Iterator[bytes]:
        yield XML_HEAD + (
            f'<styleSheet xmlns="{MAIN_NS}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{count}">').encode()
        for start in range(0, count, 10_000):
            yield b"".join(b'<xf numFmtId="%d"/>' % (i % 50)
                           for i in range(start, min(start + 10_000, count)))
        yield (b'</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
               b'builtinId="0"/></cellStyles></styleSheet>')

    rows = [b'<row r="1"><c r="A1" s="%d"><v>1</v></c></row>' % (count - 1)]
    return package(sheet_xml(rows), styles=styles())


def zip_bomb() -> bytes:
    """One cell whose text unpacks to 1 GiB of spaces (about 1 MB packed)."""
    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve">'
        yield from _repeat(b" ", 1 << 30)
        yield b"</t></is></c></row>"
    return package(sheet_xml(rows()))


def entities() -> bytes:
    """Billion laughs: ten levels of ten-fold entities, 2 GB of text from 1 KB."""
    levels = ['<!ENTITY e0 "ha">'] + [
        f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10)]
    strings = XML_HEAD + (
        f'<!DOCTYPE sst [{"".join(levels)}]>'
        f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&e9;</t></si></sst>'
    ).encode()
    rows = [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>']
    return package(sheet_xml(rows), shared=[strings])


def _template_workbook(measures: int, answers: int) -> bytes:
    """The template filled in with openpyxl, as bench/transfer.py makes it."""
    spec = importlib.util.spec_from_file_location("bench_transfer", ROOT / "bench" /
                                                  "transfer.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("bench/transfer.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(bytes, module.build_workbook(measures, answers))


def legal_large() -> bytes:
    """A real import to compare with: 4,800 measures with one status update each."""
    return _template_workbook(4800, 1)


def at_the_limits() -> bytes:
    """The largest plan the limits let through: 9,700 measures (with the template's own rows,
    9,936 filled rows).

    Nothing here is refused, so the whole check runs: it is the worst case the limits allow
    for a file that means well.
    """
    return _template_workbook(9_700, 0)


CASES: dict[str, Callable[[], bytes]] = {
    "shared_strings": shared_strings, "wide_rows": wide_rows,
    "huge_dimension": huge_dimension, "merged_grid": merged_grid,
    "merges_overlap": merges_overlap, "empty_rows": empty_rows, "range_lists": range_lists,
    "million_rows": million_rows, "deep_xml": deep_xml,
    "styles_flood": styles_flood, "zip_bomb": zip_bomb, "entities": entities,
    "legal_large": legal_large, "at_the_limits": at_the_limits, "long_texts": long_texts,
}


def unpacked_size(data: bytes) -> int:
    """What the zip claims its members inflate to."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


# --- Server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status_fields(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM … of a process in kB; empty when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm"):
            found[key] = int(value.split()[0])
        elif key == "State" and value.strip().startswith("Z"):
            return {}  # a zombie holds no memory any more
    return found


def _children(pid: int) -> list[int]:
    """Child processes of ``pid`` (the gunicorn worker is the master's only child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class Server:
    """gunicorn with the production config, one worker, on a throwaway SQLite database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.base = f"http://{env['HKI_BIND']}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        #: The job worker (``flask hki worker``), which writes confirmed imports.
        self.background: subprocess.Popen[bytes] | None = None
        self.worker = 0

    def start(self) -> None:
        """Start and wait until /health answers and the worker is there."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "scripts/gunicorn.conf.py",
                 "hki:create_app()"], cwd=ROOT, env=self.env, stdout=log, stderr=log)
            self.background = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "hki", "hki", "worker", "--poll",
                 "0.5"], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start-up; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as answer:
                    workers = _children(self.process.pid)
                    if answer.status == 200 and len(workers) == 1:
                        self.worker = workers[0]
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not become ready; see {self.log}")

    def worker_alive(self) -> bool:
        """Whether the worker that took the upload still runs."""
        return bool(_status_fields(self.worker))

    def stop(self) -> None:
        """Quick shutdown; a worker still busy with an upload is killed, not waited for."""
        if self.background is not None:
            self.background.kill()
            self.background.wait(timeout=10)
            self.background = None
        if self.process is None:
            return
        workers = _children(self.process.pid)
        self.process.send_signal(signal.SIGQUIT)  # gunicorn: quick shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for pid in workers:
                if _status_fields(pid):
                    os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def prepare_instance(env: dict[str, str]) -> None:
    """Migrate the empty database and load the demo plan and accounts, as scripts/run does."""
    for command in (["db", "upgrade"], ["hki", "seed-demo"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "hki", *command],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{done.stderr}")


# --- HTTP --------------------------------------------------------------------------------


class Browser:
    """One person's cookie session over plain urllib."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, body: bytes | None = None, content_type: str = "",
                timeout: float = 30) -> tuple[int, str]:
        """Status and page; error statuses are answers too, not exceptions."""
        request = urllib.request.Request(self.base + path, data=body)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                return int(answer.status), answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def login(self, email: str) -> None:
        _, page = self.request("/anmelden")
        form = urllib.parse.urlencode({"csrf_token": csrf_token(page), "email": email,
                                       "password": DEMO_PASSWORD}).encode()
        _, page = self.request("/anmelden", form, "application/x-www-form-urlencoded")
        if "Anmelden</h1>" in page:
            raise SystemExit(f"login as {email} failed")


def csrf_token(page: str) -> str:
    """The form's CSRF token (Flask-WTF), as a browser would send it back."""
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    if value is None:
        raise SystemExit("no CSRF token on the page")
    return value.group(1)


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body as the upload form sends it (file field "datei")."""
    boundary = secrets.token_hex(16)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="datei"; '
                 f'filename="{filename}"\r\nContent-Type: {XLSX_TYPE}\r\n\r\n'.encode())
    parts += [data, f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def first_message(page: str) -> str:
    """The first problem the answer page names, or what else it says, roughly parsed."""
    problems = re.search(r'class="[^"]*import-problems.*?<tbody>\s*<tr>(.*?)</tr>', page,
                         re.S)
    if problems:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", problems.group(1), re.S)
        if cells:
            return _text(cells[-1])
    flash = re.search(r'<div class="flash flash-error"[^>]*>(.*?)</div>', page, re.S)
    if flash:
        return _text(flash.group(1))
    changes = re.search(r'<h2 id="changes-heading">(.*?)</h2>.*?<tbody>(.*?)</tbody>', page,
                        re.S)
    if changes:
        rows = re.findall(r"<tr>(.*?)</tr>", changes.group(2), re.S)
        return f"{_text(changes.group(1))}: " + "; ".join(_text(r) for r in rows[:3])
    main = re.search(r"<main[^>]*>(.*?)</main>", page, re.S)
    return _text(main.group(1) if main else page)[:200]


# --- Measuring ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one upload did."""

    case: str
    size: int
    seconds: float = 0.0
    extra_mb: float | None = None
    status: str = ""
    message: str = ""
    idle_ms: list[float] = field(default_factory=list)
    reader_ms: list[float] = field(default_factory=list)
    reader_errors: int = 0
    restart: bool = False


class Reader(threading.Thread):
    """A council member reading the dashboard again and again while the upload runs."""

    def __init__(self, browser: Browser, path: str, timeout: float) -> None:
        super().__init__(daemon=True)
        self.browser, self.path, self.timeout = browser, path, timeout
        self.done = threading.Event()
        self.latencies: list[float] = []
        self.errors = 0

    def run(self) -> None:
        while not self.done.is_set():
            start = time.perf_counter()
            try:
                status, _ = self.browser.request(self.path, timeout=self.timeout)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                self.done.wait(0.2)
                continue
            if status == 200:
                self.latencies.append((time.perf_counter() - start) * 1000)
            else:
                self.errors += 1


class MemoryWatch(threading.Thread):
    """Follows the worker's peak RSS, and kills it past the limit to protect the machine."""

    def __init__(self, pid: int, limit_mb: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.limit_kb = pid, limit_mb * 1024
        self.done = threading.Event()
        self.peak_kb = 0
        self.killed = False

    def run(self) -> None:
        while not self.done.wait(0.05):
            fields = _status_fields(self.pid)
            if not fields:
                return
            self.peak_kb = max(self.peak_kb, fields.get("VmHWM", 0), fields.get("VmRSS", 0))
            if fields.get("VmRSS", 0) > self.limit_kb:
                self.killed = True
                os.kill(self.pid, signal.SIGKILL)
                return


def idle_latencies(browser: Browser, path: str, count: int = 10) -> list[float]:
    """The reader page with nothing else running (after one warm-up request)."""
    browser.request(path)
    found = []
    for _ in range(count):
        start = time.perf_counter()
        browser.request(path)
        found.append((time.perf_counter() - start) * 1000)
    return found


def run_case(server: Server, coordinator: Browser, reader: Browser, reader_path: str,
             case: str, data: bytes, args: argparse.Namespace) -> list[Outcome]:
    """Upload one file while the reader reads; a file that can be imported is confirmed too.

    The confirmation checks the file again and writes it in one transaction, so it is the
    longer of the two requests for a file that means well.
    """
    _, page = coordinator.request("/import")
    body, content_type = multipart({"csrf_token": csrf_token(page), "plan": ""},
                                   f"{case}.xlsx", data)
    answer: list[str] = []
    outcomes = [_measured(server, reader, reader_path, Outcome(case, len(data)), args,
                          lambda: coordinator.request("/import", body, content_type,
                                                      args.timeout), answer)]
    token = re.search(r'action="/import/([0-9a-f]{32})"', answer[0] if answer else "")
    if token and not outcomes[0].restart:
        confirm = urllib.parse.urlencode({"csrf_token": csrf_token(answer[0])}).encode()
        queued: list[str] = []
        outcomes.append(_measured(
            server, reader, reader_path, Outcome(f"{case} (confirm)", len(data)), args,
            lambda: coordinator.request(f"/import/{token[1]}", confirm,
                                        "application/x-www-form-urlencoded", args.timeout),
            queued))
        follow = re.search(r'data-follow="([^"]+)"', queued[0] if queued else "")
        if follow and server.background is not None:
            outcomes.append(_measured(
                server, reader, reader_path, Outcome(f"{case} (worker writes)", len(data)),
                args, lambda: _until_written(coordinator, html.unescape(follow[1]), args),
                [], pid=server.background.pid))
    return outcomes


def _until_written(coordinator: Browser, follow: str, args: argparse.Namespace
                   ) -> tuple[int, str]:
    """Ask as the progress page does until the worker has written the import."""
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        _, state = coordinator.request(follow)
        if state.strip() != "running":
            return coordinator.request(follow.split("?")[0])
        time.sleep(0.2)
    raise TimeoutError


def _measured(server: Server, reader: Browser, reader_path: str, outcome: Outcome,
              args: argparse.Namespace, send: Callable[[], tuple[int, str]],
              answer: list[str], pid: int = 0) -> Outcome:
    """Time one step of the coordinator, the peak memory of the process doing it (the web
    worker unless ``pid`` names another) and the reader's latency meanwhile."""
    outcome.idle_ms = idle_latencies(reader, reader_path)
    pid = pid or server.worker
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before_kb = _status_fields(pid)["VmRSS"]
    watch = MemoryWatch(pid, args.memory_limit)
    watch.start()
    reading = Reader(reader, reader_path, args.timeout + 30)
    reading.start()
    start = time.perf_counter()
    try:
        status, page = send()
        outcome.status, outcome.message = str(status), first_message(page)
        answer.append(page)
    except (OSError, http.client.HTTPException) as error:
        timed_out = isinstance(error, TimeoutError) or (
            isinstance(error, urllib.error.URLError) and isinstance(error.reason, TimeoutError))
        if timed_out:
            outcome.status, outcome.message = "timeout", (
                f"no answer in {args.timeout:.0f} s (time and memory up to then)")
        else:
            outcome.status, outcome.message = "error", f"connection: {error}"
    outcome.seconds = time.perf_counter() - start
    peak_kb = max(watch.peak_kb, _status_fields(pid).get("VmHWM", 0))
    watch.done.set()
    watch.join()
    if watch.killed:
        outcome.status = "killed"
        outcome.message = f"worker killed past --memory-limit {args.memory_limit:.0f} MB"
    elif outcome.status != "timeout" and not server.worker_alive():
        outcome.status, outcome.message = "died", f"worker died ({outcome.message})"
    outcome.extra_mb = (peak_kb - before_kb) / 1024 if peak_kb else None
    outcome.restart = outcome.status in {"timeout", "killed", "died", "error"}
    if outcome.restart:
        server.stop()  # ends the busy worker, so the reader's request returns too
    reading.done.set()
    reading.join()
    outcome.reader_ms, outcome.reader_errors = reading.latencies, reading.errors
    return outcome


# --- Report ------------------------------------------------------------------------------


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def print_table(outcomes: list[Outcome]) -> bool:
    """The figures per case and the worst case against the budget; True if within it."""
    print(f"\n{'case':<15} {'file MB':>7} {'s':>6} {'+MB':>7} {'HTTP':>7} "
          f"{'rd med':>7} {'rd p95':>7} {'n/err':>6} {'idle':>5} {'ratio':>6}  message")
    for o in outcomes:
        median, idle = _median(o.reader_ms), _median(o.idle_ms)
        ratio = f"{median / idle:.1f}×" if median is not None and idle else "–"
        mb = "–" if o.extra_mb is None else f"{o.extra_mb:.0f}"
        message = o.message if len(o.message) <= 80 else o.message[:79] + "…"
        print(f"{o.case:<15} {o.size / 2**20:>7.2f} {o.seconds:>6.1f} {mb:>7} {o.status:>7} "
              f"{_ms(median):>7} {_ms(_p95(o.reader_ms)):>7} "
              f"{len(o.reader_ms):>3}/{o.reader_errors:<2} {_ms(idle):>5} {ratio:>6}  {message}")
    if not outcomes:
        return True
    slowest = max(outcomes, key=lambda o: o.seconds)
    hungriest = max(outcomes, key=lambda o: o.extra_mb or 0)
    cut = " (cut off by --timeout)" if slowest.status == "timeout" else ""
    over_time = slowest.seconds > BUDGET_SECONDS or slowest.status == "timeout"
    over_memory = (hungriest.extra_mb or 0) > BUDGET_MB
    print(f"\nworst time:   {slowest.case}: {slowest.seconds:.1f} s{cut} – budget "
          f"{BUDGET_SECONDS:.0f} s: {'OVER' if over_time else 'within'}")
    print(f"worst memory: {hungriest.case}: {hungriest.extra_mb or 0:.0f} MB extra peak – "
          f"budget {BUDGET_MB:.0f} MB: {'OVER' if over_memory else 'within'}")
    failed = [o.case for o in outcomes if o.status in {"timeout", "killed", "died", "error"}
              or o.status.startswith("5")]
    if failed:
        print(f"no proper answer (timeout, crash or 5xx): {', '.join(failed)}")
    return not (over_time or over_memory or failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds the client waits for the answer to an upload")
    parser.add_argument("--memory-limit", type=float, default=8000.0,
                        help="MB of worker RSS past which the worker is killed")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in CASES]
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")

    limit = UPLOAD_MAX_MB * 2**20
    files: dict[str, bytes] = {}
    print(f"workbooks (upload limit {UPLOAD_MAX_MB} MB):")
    for name in chosen:
        start = time.perf_counter()
        data = CASES[name]()
        note = ""
        if len(data) + 64 * 1024 > limit:  # the form fields and headers count too
            note = "  SKIPPED: over the upload limit"
        else:
            files[name] = data
        print(f"  {name:<15} {len(data) / 2**20:7.2f} MB, unpacked "
              f"{unpacked_size(data) / 2**20:8.1f} MB, built in "
              f"{time.perf_counter() - start:4.1f} s{note}")

    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="hki-bench-uploads-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "HKI_INSTANCE_PATH": str(folder),
               "HKI_DATABASE_URL": f"sqlite:///{folder / 'hki.sqlite'}",
               "HKI_SECRET_KEY": secrets.token_hex(32), "HKI_SECURE_COOKIES": "0",
               "HKI_BIND": f"127.0.0.1:{_free_port()}", "HKI_WORKERS": "1",
               "HKI_THREADS": "4", "HKI_TIMEOUT": str(max(300, int(args.timeout) + 60)),
               "HKI_UPLOAD_MAX_MB": str(UPLOAD_MAX_MB), "FLASK_DEBUG": "0"}
        prepare_instance(env)
        server = Server(env, folder / "server.log")
        server.start()
        print(f"gunicorn on {server.base}: 1 worker (pid {server.worker}) × 4 threads, "
              f"SQLite with the demo plan; client timeout {args.timeout:.0f} s")
        try:
            coordinator, reader = Browser(server.base), Browser(server.base)
            coordinator.login(COORDINATOR)
            reader.login(READER)
            _, start_page = reader.request("/")
            plan = re.search(r'href="/plaene/(\d+)"', start_page)
            if plan is None:
                raise SystemExit("the reader sees no plan")
            reader_path = f"/plaene/{plan.group(1)}/dashboard"
            for number, (name, data) in enumerate(files.items()):
                if number:  # a fresh worker: memory freed by one case must not hide the next's
                    server.stop()
                    server.start()
                    coordinator.login(COORDINATOR)
                    reader.login(READER)
                print(f"  {name} …", end=" ", flush=True)
                found = run_case(server, coordinator, reader, reader_path, name, data, args)
                print(", ".join(f"{o.status} in {o.seconds:.1f} s" for o in found))
                outcomes.extend(found)
        finally:
            server.stop()
            shutil.copy(folder / "server.log", "/tmp/hki-bench-uploads-server.log")
    print(f"\nreader page {reader_path} (council member); rd = its latency in ms during the "
          "upload (or its confirmation), idle = just before; +MB = the worker's peak RSS "
          "during the request minus its RSS before (server log: /tmp/hki-bench-uploads-server.log)")
    within = print_table(outcomes)
    skipped = [name for name in chosen if name not in files]
    if skipped:
        print(f"not run (over the upload limit): {', '.join(skipped)}")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
