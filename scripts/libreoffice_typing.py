#!/usr/bin/python3
r"""Type a plan into LibreOffice Calc the way a person does, or open and re-save an export.

LibreOffice is driven as a real client: every value goes through ``.uno:EnterString``, so
Calc's own input recognition runs on it exactly as when a German coordinator types into a
cell and presses Enter ("1.1.1" in a General cell becomes the date 01.01.2001, "12.500"
the number 12500, "35 %" the number 0,35 shown as percent, "03.2021" stays text).
Only ``cell.setString()`` would bypass that; this script never writes cells that way.

Line breaks: in a cell a person gets them with Ctrl+Enter (LibreOffice) or Alt+Enter
(Excel). ``.uno:EnterString`` with "\n" in the text gives the same cell: a text cell
with line breaks, saved to .xlsx with "wrap text" on (checked against real Ctrl+Enter
key events through LibreOffice's UI-test service). So multi-line values are typed with
"\n" in one dispatch.

Runs with Debian's ``/usr/bin/python3`` only (the UNO bridge from ``python3-uno`` does not
import in a venv). Needs ``libreoffice-calc python3-uno xvfb`` and PyYAML
(``apt-get install -y python3-yaml`` if ``/usr/bin/python3 -c "import yaml"`` fails).
Each run starts its own ``Xvfb`` (free display) and ``soffice`` (free port, throw-away
profile with German locale) and stops both at the end, also after an error, Ctrl+C or
SIGTERM. The UNO work runs in a worker thread; after ``--timeout`` seconds the run gives
up (LibreOffice shows modal dialogs, e.g. for a file it cannot open, and a UNO call then
blocks forever).

Modes::

    fill TEMPLATE.xlsx PLAN.yaml OUTDIR   type the plan into the template, save
                                          OUTDIR/typed-plan.xlsx and OUTDIR/typed-plan.ods
    resave EXPORT.xlsx OUTDIR             open an hki export and save it unchanged as
                                          OUTDIR/resaved-export.xlsx and .ods

Columns are found by the header row of each sheet (Konzept: labels in the "Angabe"
column, values go in the "Wert" column), so the order of the template's columns does not
matter. The YAML keys are the sheets' headers (see the comment at the top of the plan).

Regenerating the fixtures (from the repository root)::

    .venv/bin/python -c "from hki import create_app; from hki.transfer.writing import \
    template; app = create_app({'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite://', \
    'SECRET_KEY': 'x'}); app.test_request_context().push(); \
    open('/tmp/template.xlsx', 'wb').write(template())"
    /usr/bin/python3 scripts/libreoffice_typing.py fill /tmp/template.xlsx \
        tests/transfer/fixtures/realplan/plan.yaml tests/transfer/fixtures/realplan
    # the .ods template (to_ods(template_tables(), today=...) written to /tmp/template.ods):
    /usr/bin/python3 scripts/libreoffice_typing.py fill /tmp/template.ods \
        tests/transfer/fixtures/realplan/plan.yaml /tmp/ods-typed
    cp /tmp/ods-typed/typed-plan.ods \
        tests/transfer/fixtures/realplan/typed-in-ods-template.ods
    # an export of the imported plan (downloaded from hki, or to_xlsx(plan_export(id))):
    /usr/bin/python3 scripts/libreoffice_typing.py resave /tmp/export.xlsx \
        tests/transfer/fixtures/realplan
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

try:
    import uno
    from com.sun.star.beans import PropertyValue
except ImportError:  # pragma: no cover - depends on the interpreter
    sys.exit("This script needs Debian's /usr/bin/python3 with python3-uno (not a venv).")

XLSX_FILTER = "Calc MS Excel 2007 XML"
ODS_FILTER = "calc8"
#: Profile settings written before LibreOffice starts. Setting the locale only at run time
#: (ConfigurationUpdateAccess) made Calc recognise German input but still show dates as
#: MM/TT/JJ; with the locale in the profile from the start, dates show as TT.MM.JJ.
REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale"
 oor:op="fuse"><value>de-DE</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooLocale"
 oor:op="fuse"><value>de-DE</value></prop></item>
<item oor:path="/org.openoffice.Office.Linguistic/General"><prop oor:name="DefaultLocale"
 oor:op="fuse"><value>de-DE</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay"
 oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun"
 oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Save/Document"><prop oor:name="WarnAlienFormat"
 oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""
#: com.sun.star.util.NumberFormat bits, for saying what Calc made of a typed value.
FORMAT_KINDS = ((2, "date"), (4, "time"), (8, "currency"), (128, "percent"),
                (64, "scientific"), (32, "fraction"), (1024, "logical"))


def prop(name: str, value: Any) -> PropertyValue:
    """A com.sun.star.beans.PropertyValue."""
    result = PropertyValue()
    result.Name, result.Value = name, value
    return result


def fold(text: str) -> str:
    """How headers and labels are compared: like hki's header_key (case, umlauts, marks)."""
    text = text.lower()
    for plain, folded in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(plain, folded)
    return re.sub(r"[\s*:()\[\]%.\-–/]+", "", text)


# --- LibreOffice under Xvfb --------------------------------------------------------------


class Office:
    """Xvfb + soffice with a throw-away profile; a context manager that always cleans up."""

    def __init__(self) -> None:
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.soffice: subprocess.Popen[bytes] | None = None
        self.profile = Path(tempfile.mkdtemp(prefix="hki-lo-profile-"))
        self.log = self.profile / "soffice.log"
        self.display = ""
        self.ctx: Any = None
        self.desktop: Any = None

    def __enter__(self) -> Office:
        try:
            self._start()
        except BaseException:
            self.close(graceful=False)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        # After an error LibreOffice may sit in a modal dialog: do not ask it, stop it.
        self.close(graceful=kind is None)

    def _start(self) -> None:
        self.display = self._start_xvfb()
        port = _free_port()
        (self.profile / "user").mkdir()
        (self.profile / "user" / "registrymodifications.xcu").write_text(REGISTRY, "utf-8")
        env = dict(os.environ, DISPLAY=self.display, SAL_USE_VCLPLUGIN="gen")
        accept = f"socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
        with self.log.open("wb") as log:
            self.soffice = subprocess.Popen(  # noqa: S603 - a fixed argument list
                [  # noqa: S607 - soffice from PATH, as a shell finds it
                    "soffice", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                    f"-env:UserInstallation={self.profile.as_uri()}", f"--accept={accept}"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.ctx = self._connect(port)
        self._german_locale()
        self.desktop = self.service("com.sun.star.frame.Desktop")

    def _start_xvfb(self) -> str:
        """Start Xvfb on a display it picks itself (-displayfd) and return ":N"."""
        read, write = os.pipe()
        try:
            self.xvfb = subprocess.Popen(  # noqa: S603 - a fixed argument list
                [  # noqa: S607 - Xvfb from PATH
                    "Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1200x24",
                    "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
            os.close(write)
            write = -1
            number = b""
            deadline = time.monotonic() + 20
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([read], [], [], left)[0]:
                    raise RuntimeError("Xvfb did not report a display within 20 s")
                chunk = os.read(read, 16)
                if not chunk:
                    raise RuntimeError("Xvfb exited before it reported a display")
                number += chunk
            return f":{number.decode().strip()}"
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)

    def _connect(self, port: int) -> Any:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + 60
        while True:
            try:
                return resolver.resolve(url)
            except Exception as error:  # NoConnectException while soffice starts
                if self.soffice is not None and self.soffice.poll() is not None:
                    raise RuntimeError(f"soffice exited ({self.soffice.returncode}):\n"
                                       f"{self._log_tail()}") from error
                if time.monotonic() > deadline:
                    raise RuntimeError("soffice did not accept a UNO connection within "
                                       f"60 s:\n{self._log_tail()}") from error
                time.sleep(0.5)

    def _german_locale(self) -> None:
        """As in RECIPES.md; the profile written before the start already says the same."""
        provider = self.service("com.sun.star.configuration.ConfigurationProvider")
        access = provider.createInstanceWithArguments(
            "com.sun.star.configuration.ConfigurationUpdateAccess",
            (prop("nodepath", "/org.openoffice.Setup/L10N"),))
        access.setPropertyValue("ooSetupSystemLocale", "de-DE")
        access.commitChanges()

    def service(self, name: str) -> Any:
        """An instance of a UNO service in the office process."""
        return self.ctx.ServiceManager.createInstanceWithContext(name, self.ctx)

    def open(self, path: Path) -> Any:
        """Load a copy of a spreadsheet in a (virtual) window, as a person opens a file.

        A copy in the profile directory: LibreOffice puts a lock file next to an open
        document, and a stale one (from a run that was killed) makes it ask "Dokument
        in Verwendung" in a modal dialog; the input itself is never touched.
        """
        work = self.profile / "documents"
        work.mkdir(exist_ok=True)
        copy = work / path.name
        shutil.copyfile(path, copy)
        doc = self.desktop.loadComponentFromURL(copy.as_uri(), "_blank", 0,
                                                (prop("Hidden", False),))
        if doc is None:
            raise RuntimeError(f"LibreOffice could not open {path}")
        return doc

    def _log_tail(self) -> str:
        try:
            return self.log.read_text("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def close(self, graceful: bool = True) -> None:
        """Stop soffice and Xvfb (only the processes started here) and remove the profile.

        ``graceful`` first asks LibreOffice to quit (bounded: 15 s); in any case the
        process groups started here get SIGTERM, then SIGKILL.
        """
        try:
            if self.soffice is not None:
                if graceful and self.desktop is not None and self.soffice.poll() is None:
                    quitter = threading.Thread(target=self._terminate, daemon=True)
                    quitter.start()
                    quitter.join(15)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.soffice.wait(10)
                _stop_group(self.soffice)
            if self.xvfb is not None:
                _stop_group(self.xvfb)
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def _terminate(self) -> None:
        # The bridge may go down while LibreOffice answers; that is the point.
        with contextlib.suppress(Exception):
            self.desktop.terminate()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, to the process group of a process started here.

    The group, not only the process: ``soffice`` is a launcher whose ``soffice.bin`` lives
    on in the same group. Waits (bounded) until no process of the group is left.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            process.poll()  # reap the group leader, our child
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def save(doc: Any, outdir: Path, stem: str) -> list[Path]:
    """Store the document as .xlsx and .ods (the document itself stays where it is)."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, filter_name in ((".xlsx", XLSX_FILTER), (".ods", ODS_FILTER)):
        target = outdir / f"{stem}{suffix}"
        doc.storeToURL(target.resolve().as_uri(),
                       (prop("FilterName", filter_name), prop("Overwrite", True)))
        written.append(target)
    return written


# --- Typing ------------------------------------------------------------------------------


class Typist:
    """Types into cells through the dispatcher, as the keyboard would."""

    def __init__(self, office: Office, doc: Any) -> None:
        self.doc = doc
        self.controller = doc.getCurrentController()
        self.frame = self.controller.getFrame()
        self.dispatcher = office.service("com.sun.star.frame.DispatchHelper")
        self.formats = doc.getNumberFormats()
        self.active: Any = None
        #: (sheet, header, typed text, cell) for the report after typing.
        self.typed: list[tuple[str, str, str, Any]] = []

    def type(self, sheet: Any, column: int, row: int, text: str, header: str) -> None:
        """Select the cell, then enter ``text`` as if typed and confirmed with Enter."""
        if sheet is not self.active:
            self.controller.setActiveSheet(sheet)
            self.active = sheet
        cell = sheet.getCellByPosition(column, row)
        _check_choice(cell, text, f"{sheet.getName()}!{_address(column, row)} ({header})")
        self.controller.select(cell)
        self.dispatcher.executeDispatch(self.frame, ".uno:EnterString", "", 0,
                                        (prop("StringName", text),))
        self.typed.append((sheet.getName(), header, text, cell))

    def kind(self, cell: Any) -> str:
        """What Calc made of the input: text, number, date, percent or currency."""
        kind = cell.getType().value
        if kind == "TEXT":
            return "text"
        if kind == "EMPTY":
            return "EMPTY"
        if kind == "FORMULA":
            return "formula"
        bits = self.formats.getByKey(cell.getPropertyValue("NumberFormat")).Type
        return next((name for bit, name in FORMAT_KINDS if bits & bit), "number")


def _check_choice(cell: Any, text: str, where: str) -> None:
    """A value outside a drop-down list would open a modal error box; refuse it first."""
    validation = cell.getPropertyValue("Validation")
    if validation.Type.value != "LIST" or not validation.ShowErrorMessage:
        return
    formula = validation.getFormula1()
    words = re.findall(r'"((?:[^"]|"")*)"', formula)
    if len(words) == 1 and "," in words[0] and ";" not in formula:
        words = words[0].split(",")
    allowed = {w.replace('""', '"').strip().casefold() for w in words}
    if allowed and text.strip().casefold() not in allowed:
        raise ValueError(f"{where}: „{text}“ is not in the cell's list {sorted(allowed)}; "
                         "Calc would stop with an error box.")


def _address(column: int, row: int) -> str:
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def _as_typed(value: Any) -> str:
    """The text a person types for a YAML value ("" for nothing)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        print(f"warning: {value!r} is not a string in the YAML; typed as {value!s}",
              file=sys.stderr)
    return str(value).strip("\n")


class SheetWriter:
    """One sheet of the template: its header row, and rows typed below it."""

    def __init__(self, typist: Typist, doc: Any, name: str) -> None:
        sheets = doc.getSheets()
        found = [sheets.getByName(n) for n in sheets.getElementNames()
                 if fold(n) == fold(name)]
        if len(found) != 1:
            raise ValueError(f"the template has no sheet „{name}“")
        self.sheet = found[0]
        self.typist = typist
        cursor = self.sheet.createCursor()
        cursor.gotoEndOfUsedArea(False)
        last_column = cursor.getRangeAddress().EndColumn
        header = self.sheet.getCellRangeByPosition(0, 0, last_column, 0).getDataArray()[0]
        self.headers = {fold(str(h)): (i, str(h)) for i, h in enumerate(header)
                        if str(h).strip()}
        self.row = 1
        self.rows = 0

    def column(self, key: str) -> tuple[int, str]:
        """Column index and header text for a YAML key (= a header of the sheet)."""
        try:
            return self.headers[fold(key)]
        except KeyError:
            known = ", ".join(h for _i, h in self.headers.values())
            raise ValueError(f"sheet „{self.sheet.getName()}“ has no column „{key}“ "
                             f"(headers: {known})") from None

    def type_row(self, values: dict[str, Any]) -> None:
        """Type the non-empty values of one record into the next row, left to right."""
        cells = []
        for key, value in values.items():
            text = _as_typed(value)
            if text:
                cells.append((*self.column(key), text))
        for column, header, text in sorted(cells):
            self.typist.type(self.sheet, column, self.row, text, header)
        self.row += 1
        self.rows += 1


def fill(office: Office, template: Path, plan_file: Path, outdir: Path) -> None:
    """Type the whole plan into the template and save it as .xlsx and .ods."""
    import yaml  # Debian: apt-get install -y python3-yaml

    plan = yaml.safe_load(plan_file.read_text("utf-8"))
    doc = office.open(template)
    typist = Typist(office, doc)
    started = time.perf_counter()
    timings = []

    def timed(name: str, work: Any) -> None:
        before, count = time.perf_counter(), len(typist.typed)
        rows = work()
        timings.append((name, rows, len(typist.typed) - count, time.perf_counter() - before))

    timed("Konzept", lambda: _type_concept(typist, doc, plan.get("concept") or {}))
    timed("Organisationen", lambda: _type_organisations(typist, doc,
                                                        plan.get("organisations") or []))
    timed("Plan", lambda: _type_plan(typist, doc, plan.get("fields") or []))
    timed("Sachstände", lambda: _type_answers(typist, doc, plan.get("answers") or []))
    elapsed = time.perf_counter() - started
    written = save(doc, outdir, "typed-plan")
    report = _report(typist)
    doc.close(True)

    print(f"Typed {len(typist.typed)} cells in {elapsed:.1f} s "
          f"({1000 * elapsed / max(1, len(typist.typed)):.1f} ms per cell):")
    for name, rows, cells, seconds in timings:
        print(f"  {name:<15} {rows:4d} rows {cells:5d} cells {seconds:6.1f} s")
    print(report)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


def _type_concept(typist: Typist, doc: Any, concept: dict[str, Any]) -> int:
    writer = SheetWriter(typist, doc, "Konzept")
    label_column = writer.column("Angabe")[0]
    value_column, value_header = writer.column("Wert")
    cursor = writer.sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    last_row = cursor.getRangeAddress().EndRow
    labels = {fold(writer.sheet.getCellByPosition(label_column, r).getString()): r
              for r in range(1, last_row + 1)}
    rows = 0
    for label, value in concept.items():
        text = _as_typed(value)
        if not text:
            continue
        if fold(label) not in labels:
            raise ValueError(f"sheet „Konzept“ has no row „{label}“")
        typist.type(writer.sheet, value_column, labels[fold(label)], text,
                    f"{value_header} ({label})")
        rows += 1
    return rows


def _type_organisations(typist: Typist, doc: Any, names: list[str]) -> int:
    writer = SheetWriter(typist, doc, "Organisationen")
    for name in names:
        writer.type_row({"Name": name})
    return writer.rows


def _type_plan(typist: Typist, doc: Any, fields: list[dict[str, Any]]) -> int:
    writer = SheetWriter(typist, doc, "Plan")

    def own(entry: dict[str, Any], *nested: str) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if k not in nested}

    for field in fields:
        writer.type_row(own(field, "goals"))
        for goal in field.get("goals") or []:
            writer.type_row(own(goal, "measures"))
            for measure in goal.get("measures") or []:
                first, *more = measure.get("indicators") or [{}]
                writer.type_row({**own(measure, "indicators"), **first})
                for indicator in more:
                    writer.type_row(indicator)
    return writer.rows


def _type_answers(typist: Typist, doc: Any, answers: list[dict[str, Any]]) -> int:
    writer = SheetWriter(typist, doc, "Sachstände")
    for answer in answers:
        writer.type_row(answer)
    return writer.rows


def _report(typist: Typist) -> str:
    """Per column: what Calc made of the typed values, with examples of changed ones."""
    kinds: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    examples: dict[tuple[str, str, str], list[str]] = collections.defaultdict(list)
    multiline = [0, 0]
    lost = []
    for sheet, header, text, cell in typist.typed:
        kind = typist.kind(cell)
        kinds[(sheet, header)][kind] += 1
        shown = cell.getString()
        if kind == "EMPTY":
            lost.append(f"{sheet} {header}: {text!r}")
        if "\n" in text:
            multiline[0] += 1
            multiline[1] += "\n" in shown
        key = (sheet, header, kind)
        if shown != text and len(examples[key]) < 3:
            examples[key].append(f"{text!r} → {shown!r}")
    lines = ["What Calc made of the typed values (per sheet and column):"]
    for (sheet, header), counts in kinds.items():
        summary = ", ".join(f"{k} {n}" for k, n in counts.most_common())
        lines.append(f"  {sheet} / {header}: {summary}")
        for kind in counts:
            for example in examples.get((sheet, header, kind), []):
                lines.append(f"      {kind}: {example}")
    lines.append(f"Multi-line values: {multiline[0]} typed, {multiline[1]} kept their "
                 "line breaks.")
    if lost:
        lines.append("EMPTY after typing (lost input!): " + "; ".join(lost))
    return "\n".join(lines)


def resave(office: Office, export: Path, outdir: Path) -> None:
    """Open an hki export and save it again, as a person who opens it and presses Save."""
    doc = office.open(export)
    written = save(doc, outdir, "resaved-export")
    doc.close(True)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, start LibreOffice, run the mode, always clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=600,
                        help="give up after this many seconds of work (default 600)")
    modes = parser.add_subparsers(dest="mode", required=True)
    fill_mode = modes.add_parser("fill", help="type a plan (YAML) into the hki template")
    fill_mode.add_argument("template", type=Path)
    fill_mode.add_argument("plan", type=Path)
    fill_mode.add_argument("outdir", type=Path)
    resave_mode = modes.add_parser("resave", help="open an export and save it unchanged")
    resave_mode.add_argument("export", type=Path)
    resave_mode.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    inputs = [args.template, args.plan] if args.mode == "fill" else [args.export]
    for path in inputs:
        if not path.is_file():
            parser.error(f"{path} does not exist")
    # SIGTERM/SIGHUP end the run like Ctrl+C: the with-block below stops LibreOffice.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda number, _frame: sys.exit(128 + number))
    started = time.perf_counter()
    with Office() as office:
        print(f"LibreOffice started on display {office.display} "
              f"in {time.perf_counter() - started:.1f} s")
        if args.mode == "fill":
            _bounded(args.timeout, fill, office, args.template, args.plan, args.outdir)
        else:
            _bounded(args.timeout, resave, office, args.export, args.outdir)
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


def _bounded(timeout: float, work: Any, *args: Any) -> None:
    """Run ``work`` in a thread, so this thread stays free to handle signals and a timeout.

    A UNO call blocks while LibreOffice shows a modal dialog; a signal handler in the main
    thread would not run until it returns. Raising here leaves the ``with Office()``
    block, which kills LibreOffice, and the blocked call fails.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work(*args)
        except BaseException as error:  # handed to the main thread
            failure.append(error)

    worker = threading.Thread(target=run, name="uno-work", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    while worker.is_alive():
        worker.join(0.2)
        if time.monotonic() > deadline:
            raise TimeoutError(f"LibreOffice did not finish within {timeout:.0f} s (a modal "
                               "dialog?); stopped it.")
    if failure:
        raise failure[0]


if __name__ == "__main__":
    sys.exit(main())
