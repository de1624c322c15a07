"""Vietnamese meeting minutes (biên bản cuộc họp) in the form of Nghị định 30/2020/NĐ-CP, as DOCX.

The layout follows the decree's rules for administrative documents (Phụ lục I): A4 paper; margins top and
bottom 20 mm, left 30 mm, right 15 mm; Times New Roman; a two-column heading (issuing body and number on
the left, the national name "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and motto "Độc lập - Tự do - Hạnh phúc"
with its rule on the right); the place and date line in italics; the document name "BIÊN BẢN" and its
summary; page numbers from page 2, centred in the top margin; and the signature block (THƯ KÝ left,
CHỦ TRÌ right). Whatever the secretary did not enter is left as dotted lines to fill in by hand.

Times are shown in Asia/Ho_Chi_Minh. A naive ``datetime`` in a :class:`~speech.transcript.Transcript` is
taken as UTC (the service stores UTC); :class:`MeetingInfo` times must carry their offset.

Example::

    info = MeetingInfo(
        title="Cuộc họp giao ban tháng 12",
        organisation="Ủy ban nhân dân tỉnh Lâm Đồng",
        number="12/BB-UBND",
        place_name="Lâm Đồng",
        start=datetime(2026, 12, 5, 8, 0, tzinfo=VN_TZ),
        venue="Phòng họp số 1",
        chair="Nguyễn Văn A - Chủ tịch",
        secretary="Trần Thị B",
        attendees=("Lê Văn C - Phó Chủ tịch", "Phạm Thị D - Chánh Văn phòng"),
        conclusions="Giao Sở Tài chính tổng hợp, báo cáo trước ngày 15/12.",
    )
    data = minutes_docx(transcript, info)        # bytes of a .docx
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from speech.transcript import Segment, Transcript

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

__all__ = ["VN_TZ", "MeetingInfo", "date_line", "local_time", "minutes_docx"]


def _vn_tz() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Ho_Chi_Minh")
    except Exception:  # no tz database (Windows without tzdata): Vietnam has kept UTC+7 since 1975
        return timezone(timedelta(hours=7), "+07")


#: The time zone every time is shown in.
VN_TZ: tzinfo = _vn_tz()

#: Placeholder for a word or number to be written in by hand.
GAP = "……"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _nfc(text: str) -> str:
    """NFC, without the control characters that XML (hence DOCX) refuses."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = _nfc(str(value)).strip()
    return text or None


def _names(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.splitlines() if isinstance(value, str) else list(value)
    out = []
    for item in items:
        text = _clean(item)
        if text:
            out.append(text.lstrip("-–•* \t").strip() or text)
    return tuple(out)


def local_time(when: datetime) -> datetime:
    """``when`` in Asia/Ho_Chi_Minh; a naive ``when`` is taken as UTC."""
    if when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(VN_TZ)


def _day_month(when: datetime) -> tuple[str, str]:
    # Nghị định 30/2020, Phụ lục I: a day below 10 and the months 1 and 2 take a leading zero.
    return f"{when.day:02d}", f"{when.month:02d}" if when.month < 3 else str(when.month)


def date_line(place: str | None, when: datetime | None) -> str:
    """The place and date line, e.g. ``"Lâm Đồng, ngày 05 tháng 12 năm 2026"`` (date in Asia/Ho_Chi_Minh).

    A missing place or date becomes dotted gaps: ``"……, ngày …… tháng …… năm ……"``.
    """
    where = _clean(place) or GAP
    if when is None:
        return f"{where}, ngày {GAP} tháng {GAP} năm {GAP}"
    local = local_time(when)
    day, month = _day_month(local)
    return f"{where}, ngày {day} tháng {month} năm {local.year}"


def _clock_phrase(when: datetime | None) -> str:
    if when is None:
        return f"{GAP} giờ {GAP} phút"
    local = local_time(when)
    return f"{local.hour:02d} giờ {local.minute:02d} phút"


def _date_phrase(when: datetime | None) -> str:
    if when is None:
        return f"ngày {GAP} tháng {GAP} năm {GAP}"
    local = local_time(when)
    day, month = _day_month(local)
    return f"ngày {day} tháng {month} năm {local.year}"


@dataclass(frozen=True)
class MeetingInfo:
    """What the secretary entered about a meeting; every field is optional.

    Strings are NFC-normalised and stripped on creation; an empty string counts as absent. Name lists
    accept any sequence of strings (stored as a tuple) or one string with a name per line.

    Attributes:
        title: the summary under "BIÊN BẢN", e.g. ``"Cuộc họp giao ban tháng 12"`` (default: the
            transcript's title).
        organisation: the issuing body, e.g. ``"Ủy ban nhân dân tỉnh Lâm Đồng"`` (shown in capitals).
        parent_organisation: the body above it, shown above it in capitals (``"Ủy ban nhân dân tỉnh"``
            above ``"Văn phòng"``), if any.
        number: number and symbol, e.g. ``"12/BB-UBND"`` (shown after ``"Số: "``).
        place_name: the place of the date line, e.g. ``"Lâm Đồng"``.
        start: when the meeting began; must carry a UTC offset; shown in Asia/Ho_Chi_Minh.
        end: when it ended (default: ``start`` plus the recording's duration).
        venue: where it took place, e.g. ``"Phòng họp số 1, trụ sở UBND tỉnh"``.
        chair: who chaired it (chủ trì), e.g. ``"Ông Nguyễn Văn A - Chủ tịch UBND tỉnh"``.
        secretary: who took the minutes (thư ký).
        attendees: the other participants, one name (and office) per item.
        absent: who was absent (with the reason, if given).
        agenda: the agenda, one item per line.
        conclusions: the chair's conclusions, one paragraph per line.

    Raises:
        ValueError: for a naive ``start``/``end`` or an ``end`` before ``start``.
    """

    title: str | None = None
    organisation: str | None = None
    parent_organisation: str | None = None
    number: str | None = None
    place_name: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    venue: str | None = None
    chair: str | None = None
    secretary: str | None = None
    attendees: Sequence[str] = ()
    absent: Sequence[str] = ()
    agenda: str | None = None
    conclusions: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("attendees", "absent"):
                object.__setattr__(self, f.name, _names(value))
            elif f.name in ("start", "end"):
                if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                    raise ValueError(
                        f"Expected MeetingInfo.{f.name} with a UTC offset. Got the naive datetime {value!r}; "
                        "attach the zone, e.g. value.replace(tzinfo=speech.minutes.VN_TZ) for a local time."
                    )
            else:
                object.__setattr__(self, f.name, _clean(value))
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(
                f"Expected MeetingInfo.end after start. Got start={self.start.isoformat()}, "
                f"end={self.end.isoformat()}; check the date of the end time."
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; times as ISO 8601 in Asia/Ho_Chi_Minh (with their ``+07:00`` offset)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = local_time(value).isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def ended(self, duration_s: float) -> datetime | None:
        """``end``, else ``start`` plus ``duration_s`` seconds (the recording is taken to span the meeting)."""
        if self.end is not None:
            return self.end
        if self.start is not None and duration_s > 0:
            return self.start + timedelta(seconds=round(duration_s))
        return None


# -- DOCX -------------------------------------------------------------------------------------------------

_FONT = "Times New Roman"
_BODY_PT = 14  # Phụ lục I: body text 13-14 pt
_PAGE_MM = (210, 297)  # A4
_MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}  # 20-25, 20-25, 30-35, 15-20
_TEXT_MM = _PAGE_MM[0] - _MARGINS_MM["left"] - _MARGINS_MM["right"]  # 165
_HEAD_COLS_MM = (62, _TEXT_MM - 62)
_CELL_PAD_MM = 1.9  # Word's default left and right cell margins (0.19 cm each)
# Width of "Độc lập - Tự do - Hạnh phúc" in Times New Roman Bold 13 pt, from the advance widths of
# Liberation Serif Bold (metric-compatible with Times New Roman): 158.6 pt = 55.9 mm. The decree wants
# the rule under the motto as long as the motto.
_MOTTO_MM = 56.0
_ORG_RULE_MM = 22.0  # 1/3 to 1/2 of the issuing body's line
_NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"  # spelt as in Nghị định 30/2020
_MOTTO = "Độc lập - Tự do - Hạnh phúc"


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _set_fonts(rpr: Any, size_pt: float | None = None) -> None:
    """Times New Roman for every script slot of ``rpr`` (a ``w:rPr``; python-docx sets only ascii and
    hAnsi) and Vietnamese as the proofing language."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(1 if len(rpr) and rpr[0].tag == qn("w:rStyle") else 0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), _FONT)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    if size_pt is not None:
        for tag in ("w:sz", "w:szCs"):
            node = rpr.find(qn(tag))
            if node is None:
                node = OxmlElement(tag)
                # CT_RPr is a sequence: a child goes before the first of those that must follow it.
                rpr.insert_element_before(node, *_RPR_ORDER[_RPR_ORDER.index(tag) + 1 :])
            node.set(qn("w:val"), str(int(round(size_pt * 2))))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.insert_element_before(lang, *_RPR_ORDER[_RPR_ORDER.index("w:lang") + 1 :])
    lang.set(qn("w:val"), "vi-VN")


# The tail of CT_RPr's child sequence (ECMA-376 Part 1, 17.3.2.28), from the font size on.
_RPR_ORDER = (
    "w:sz",
    "w:szCs",
    "w:highlight",
    "w:u",
    "w:effect",
    "w:bdr",
    "w:shd",
    "w:fitText",
    "w:vertAlign",
    "w:rtl",
    "w:cs",
    "w:em",
    "w:lang",
    "w:eastAsianLayout",
    "w:specVanish",
    "w:oMath",
)


def _setup(doc: DocxDocument) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    normal = doc.styles["Normal"]
    normal.font.name = _FONT
    normal.font.size = Pt(_BODY_PT)
    _set_fonts(normal.element.get_or_add_rPr(), _BODY_PT)
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(6)  # at least 6 pt between paragraphs
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    # The document defaults too, so that tables, headers and anything a reader adds stay in the font.
    for rpr in doc.styles.element.iterfind(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}"):
        _set_fonts(rpr, _BODY_PT)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(_PAGE_MM[0]), Mm(_PAGE_MM[1])
    section.top_margin = Mm(_MARGINS_MM["top"])
    section.bottom_margin = Mm(_MARGINS_MM["bottom"])
    section.left_margin = Mm(_MARGINS_MM["left"])
    section.right_margin = Mm(_MARGINS_MM["right"])
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)
    # Page numbers: centred in the top margin, from the second page on.
    section.different_first_page_header_footer = True
    _page_number(section.header.paragraphs[0])


def _page_number(paragraph: Paragraph) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind is not None:
            node = OxmlElement("w:fldChar")
            node.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            node = OxmlElement("w:instrText")
            node.set(qn("xml:space"), "preserve")
            node.text = text
        else:
            node = OxmlElement("w:t")
            node.text = text
        run._r.append(node)


def _para(
    where: DocxDocument | _Cell,
    text: str = "",
    *,
    align: str = "justify",
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
    first_line_mm: float | None = None,
    space_after: float | None = None,
    space_before: float | None = None,
) -> Paragraph:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    p = where.add_paragraph()
    p.alignment = {
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
    }[align]
    if first_line_mm is not None:
        p.paragraph_format.first_line_indent = Mm(first_line_mm)
    if space_after is not None:
        p.paragraph_format.space_after = Pt(space_after)
    if space_before is not None:
        p.paragraph_format.space_before = Pt(space_before)
    if text:
        _run(p, text, size=size, bold=bold, italic=italic)
    return p


def _run(p: Paragraph, text: str, *, size: float | None = None, bold: bool = False, italic: bool = False) -> None:
    from docx.shared import Pt

    run = p.add_run(_nfc(text))
    run.bold = bold or None
    run.italic = italic or None
    if size is not None:
        run.font.size = Pt(size)


def _rule(where: DocxDocument | _Cell, length_mm: float, width_mm: float, pad_mm: float = _CELL_PAD_MM) -> None:
    """A rule ``length_mm`` long, centred in ``width_mm`` less ``pad_mm`` each side: the top border of an
    empty, 1 pt high paragraph."""
    from docx.enum.text import WD_LINE_SPACING
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    p = where.add_paragraph()
    side = max((width_mm - 2 * pad_mm - length_mm) / 2, 0.0)
    pf = p.paragraph_format
    pf.left_indent = pf.right_indent = Mm(side)
    pf.space_before = Pt(3)  # clear of the descenders of the line above
    pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(1)
    ppr = p._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    border.append(top)
    # CT_PPr is a sequence: the borders come before shading, tabs, spacing, indentation, alignment...
    ppr.insert_element_before(
        border, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:snapToGrid", "w:spacing", "w:ind", "w:jc", "w:rPr"
    )


def _no_borders(table: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        node = OxmlElement(f"w:{edge}")
        node.set(qn("w:val"), "nil")
        borders.append(node)
    # CT_TblPr is a sequence: the borders come before shading, layout, cell margins and the look.
    tbl_pr.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption")


def _two_columns(doc: DocxDocument, rows: int, widths_mm: tuple[float, float]) -> Any:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Mm

    table = doc.add_table(rows=rows, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _no_borders(table)
    for i, width in enumerate(widths_mm):
        table.columns[i].width = Mm(width)
        for cell in table.columns[i].cells:
            cell.width = Mm(width)
    return table


def _first(cell: _Cell, text: str, **kw: Any) -> Paragraph:
    """Fill the cell's initial empty paragraph (centred, no spacing) rather than adding one below it."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p: Paragraph = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = Pt(0)
    if text:
        _run(p, text, **kw)
    return p


def _heading_table(doc: DocxDocument, t: Transcript, m: MeetingInfo) -> None:
    left_mm, right_mm = _HEAD_COLS_MM
    table = _two_columns(doc, 2, _HEAD_COLS_MM)
    left, right = table.cell(0, 0), table.cell(0, 1)
    org = m.organisation.upper() if m.organisation else GAP * 4
    if m.parent_organisation:
        _first(left, m.parent_organisation.upper(), size=13)
        _para(left, org, align="center", size=13, bold=True, space_after=0)
    else:
        _first(left, org, size=13, bold=True)
    _rule(left, _ORG_RULE_MM, left_mm)
    _first(right, _NATIONAL_NAME, size=12, bold=True)
    _para(right, _MOTTO, align="center", size=13, bold=True, space_after=0)
    _rule(right, _MOTTO_MM, right_mm)
    number, date = table.cell(1, 0), table.cell(1, 1)
    number_text = f"Số: {m.number}" if m.number else f"Số: {GAP}/BB-{GAP}"
    _first(number, number_text, size=13).paragraph_format.space_before = _pt(6)
    dated = date_line(m.place_name, m.start or t.created_at)
    _first(date, dated, size=14, italic=True).paragraph_format.space_before = _pt(6)


def _pt(value: float) -> Any:
    from docx.shared import Pt

    return Pt(value)


def _dotted(doc: DocxDocument, label: str = "", *, bold_label: bool = False) -> Paragraph:
    """``label`` then a dot leader to the right margin: a line to fill in by hand."""
    from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
    from docx.shared import Mm

    p = _para(doc, first_line_mm=10)
    if label:
        _run(p, label, bold=bold_label)
    p.add_run("\t")
    p.paragraph_format.tab_stops.add_tab_stop(Mm(_TEXT_MM), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    return p


def _field(doc: DocxDocument, label: str, value: str | None) -> None:
    """``label value`` as a body paragraph, or ``label`` and a dotted line when the value is missing."""
    if value:
        p = _para(doc, first_line_mm=10)
        _run(p, label)
        _run(p, f" {value}")
    else:
        _dotted(doc, label)


def _section(doc: DocxDocument, text: str) -> None:
    _para(doc, text, align="left", bold=True, first_line_mm=10, space_before=6)


def _speech(doc: DocxDocument, paragraphs: Sequence[Segment]) -> None:
    for seg in paragraphs:
        p = _para(doc, first_line_mm=10)
        _run(p, f"[{_hms(seg.start)}] ", italic=True)  # the decree's 13-14 pt, so no small grey type
        if seg.speaker:
            _run(p, f"{seg.speaker}: ", bold=True)
        _run(p, seg.text)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def minutes_docx(t: Transcript, meeting: MeetingInfo | None = None, paragraphs: Sequence[Segment] = ()) -> bytes:
    """The minutes of ``t`` as a DOCX "BIÊN BẢN" filled from ``meeting`` (dotted lines where it says nothing).

    Args:
        t: the transcript; its title is the summary when ``meeting.title`` is absent, and its
            ``created_at`` (naive = UTC) dates the record when ``meeting.start`` is absent.
        meeting: what the secretary entered; None leaves every field to fill in by hand.
        paragraphs: the content, one paragraph per speaker turn (default: one per non-empty segment).

    Returns:
        The bytes of a .docx file (A4, Times New Roman, Nghị định 30/2020 layout).
    """
    from docx import Document

    m = meeting or MeetingInfo()
    doc = Document()
    _setup(doc)
    core = doc.core_properties
    core.title = _nfc(m.title or t.title or "Biên bản")
    core.subject = "Biên bản cuộc họp"
    core.language = "vi-VN"
    core.author = m.secretary or m.organisation or ""
    core.last_modified_by = core.author
    core.comments = ""
    core.created = local_time(m.start or t.created_at).astimezone(UTC).replace(tzinfo=None)
    core.revision = 1

    _heading_table(doc, t, m)
    _para(doc, "BIÊN BẢN", align="center", size=14, bold=True, space_before=18, space_after=0)
    summary = m.title or t.title or f"Cuộc họp {GAP}"
    _para(doc, summary[:1].upper() + summary[1:], align="center", size=14, bold=True, space_after=0)
    # The decree's rule is 1/3 to 1/2 of the summary's (longest) line: 0.4 of its width, estimated at
    # 2.2 mm a character (Times New Roman Bold 14 pt: 2.15-2.26 mm on two Vietnamese summaries, from the
    # advance widths of the metric-compatible Liberation Serif Bold).
    _rule(doc, max(0.4 * min(len(summary) * 2.2, _TEXT_MM), 6.0), _TEXT_MM, 0.0)
    doc.paragraphs[-1].paragraph_format.space_after = _pt(12)

    end = m.ended(t.duration_s)
    _section(doc, "1. Thời gian, địa điểm")
    start_text = f"{_clock_phrase(m.start)}, {_date_phrase(m.start)}." if m.start else None
    _field(doc, "- Thời gian bắt đầu:", start_text)
    _field(doc, "- Địa điểm:", f"{m.venue}." if m.venue else None)

    _section(doc, "2. Thành phần tham dự")
    _field(doc, "- Chủ trì:", f"{m.chair}." if m.chair else None)
    _field(doc, "- Thư ký:", f"{m.secretary}." if m.secretary else None)
    if m.attendees:
        _para(doc, "- Thành viên tham dự:", first_line_mm=10)
        for name in m.attendees:
            _para(doc, f"+ {name};", first_line_mm=15, space_after=0)
        doc.paragraphs[-1].paragraph_format.space_after = _pt(6)
    else:
        _dotted(doc, "- Thành viên tham dự:")
        _dotted(doc)
    _field(doc, "- Vắng mặt:", f"{'; '.join(m.absent)}." if m.absent else None)

    _section(doc, "3. Nội dung cuộc họp")
    agenda = _lines(m.agenda)
    if agenda:
        _para(doc, "a) Chương trình:", first_line_mm=10, italic=True)
        for item in agenda:
            _para(doc, item, first_line_mm=10)
    body = list(paragraphs) or [s for s in t.segments if s.text]
    _para(
        doc,
        f"{'b' if agenda else 'a'}) Diễn biến (theo bản ghi âm, dài {_hms(t.duration_s)}):",
        first_line_mm=10,
        italic=True,
    )
    if body:
        _speech(doc, body)
    else:
        for _ in range(3):
            _dotted(doc)

    _section(doc, "4. Kết luận")
    conclusions = _lines(m.conclusions)
    for line in conclusions:
        _para(doc, line, first_line_mm=10)
    if not conclusions:
        for _ in range(3):
            _dotted(doc)

    if end is None:
        closing = f"Cuộc họp kết thúc vào lúc {_clock_phrase(None)} cùng ngày./."
    elif m.start is not None and local_time(end).date() != local_time(m.start).date():
        closing = f"Cuộc họp kết thúc vào lúc {_clock_phrase(end)}, {_date_phrase(end)}./."
    else:
        closing = f"Cuộc họp kết thúc vào lúc {_clock_phrase(end)} cùng ngày./."
    _para(doc, closing, first_line_mm=10, space_before=6).paragraph_format.keep_with_next = True

    _signatures(doc, m)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _signatures(doc: DocxDocument, m: MeetingInfo) -> None:
    from docx.oxml import OxmlElement

    _para(doc, space_after=0).paragraph_format.keep_with_next = True
    table = _two_columns(doc, 1, (_TEXT_MM / 2, _TEXT_MM / 2))
    # The block stays whole, on the page of the closing sentence.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    for cell, role, name in (
        (table.cell(0, 0), "THƯ KÝ", m.secretary),
        (table.cell(0, 1), "CHỦ TRÌ", m.chair),
    ):
        _first(cell, role, size=14, bold=True)
        _para(cell, "(Ký, ghi rõ họ tên)", align="center", size=14, italic=True, space_after=0)
        for _ in range(4):
            _para(cell, space_after=0)
        # Only the name: a chair entered as "Nguyễn Văn A - Chủ tịch UBND tỉnh" signs as "Nguyễn Văn A".
        _para(cell, _person(name) if name else "", align="center", size=14, bold=True, space_after=0)


def _person(entry: str) -> str:
    """The name part of ``"Ông Nguyễn Văn A - Chủ tịch"``: before a dash or comma, without the title."""
    name = re.split(r"\s+[-–]\s+|,", entry, maxsplit=1)[0].strip()
    return re.sub(r"^(ông|bà|đồng chí|đ/c)\s+", "", name, flags=re.IGNORECASE).strip() or entry
