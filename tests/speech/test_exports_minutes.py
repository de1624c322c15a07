"""The DOCX minutes, read back with python-docx: Nghị định 30/2020 layout, filled from MeetingInfo."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from docx import Document
from docx.enum.text import WD_TAB_LEADER
from docx.oxml.ns import qn

from speech.exports import MeetingInfo, export
from speech.minutes import date_line
from speech.transcript import Segment, Transcript

HANOI = timezone(timedelta(hours=7))


def _transcript(created_at: datetime = datetime(2026, 12, 4, 18, 30)) -> Transcript:
    return Transcript(
        title="Họp giao ban",
        created_at=created_at,
        duration_s=3725.0,
        segments=(
            Segment(0.5, 10.4, "Kính thưa các đồng chí.", speaker="Người nói 1"),
            Segment(11.0, 13.25, "Hôm nay họp về Đà Lạt.", speaker="Người nói 1"),
            Segment(3600.0, 3602.5, "Dạ, thưa đồng chí Chủ tịch.", speaker="Người nói 2"),
        ),
    )


MEETING = MeetingInfo(
    title="cuộc họp giao ban tháng 12",
    organisation="Ủy ban nhân dân tỉnh Lâm Đồng",
    number="12/BB-UBND",
    place_name="Lâm Đồng",
    start=datetime(2026, 12, 4, 18, 30, tzinfo=UTC),  # 01:30 on 5 December in Vietnam
    venue="Phòng họp số 1, trụ sở UBND tỉnh",
    chair="Ông Nguyễn Văn A - Chủ tịch UBND tỉnh",
    secretary="Trần Thị B - Chuyên viên Văn phòng",
    attendees=["Lê Văn C - Phó Chủ tịch UBND tỉnh", "Phạm Thị D - Chánh Văn phòng"],
    absent=["Hoàng Văn E (đi công tác)"],
    agenda="Đánh giá tình hình tháng 11\nNhiệm vụ tháng 12",
    conclusions="Giao Sở Tài chính tổng hợp, báo cáo trước ngày 15/12.\nCác sở, ngành triển khai nhiệm vụ.",
)


def _docx(t: Transcript, meeting: MeetingInfo | None) -> Any:
    return Document(io.BytesIO(export(t, "docx", meeting)))


def _cell_texts(cell: Any) -> list[str]:
    return [p.text for p in cell.paragraphs]


def _all_paragraphs(doc: Any) -> Iterator[Any]:
    yield from doc.paragraphs
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def test_page_is_a4_with_the_decree_margins() -> None:
    section = _docx(_transcript(), MEETING).sections[0]
    assert section.page_width.mm == pytest.approx(210, abs=0.1)
    assert section.page_height.mm == pytest.approx(297, abs=0.1)
    assert 20 - 0.1 <= section.top_margin.mm <= 25 + 0.1
    assert 20 - 0.1 <= section.bottom_margin.mm <= 25 + 0.1
    assert 30 - 0.1 <= section.left_margin.mm <= 35 + 0.1
    assert 15 - 0.1 <= section.right_margin.mm <= 20 + 0.1


def test_times_new_roman_13_to_14() -> None:
    doc = _docx(_transcript(), MEETING)
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert 13 <= normal.font.size.pt <= 14
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{slot}")) for slot in ("ascii", "hAnsi", "eastAsia", "cs")} == {"Times New Roman"}
    assert normal.element.rPr.find(qn("w:lang")).get(qn("w:val")) == "vi-VN"
    for p in _all_paragraphs(doc):
        for run in p.runs:
            assert run.font.name in (None, "Times New Roman")
            # 12 pt only for the national name, which the decree sets in 12-13 pt.
            size = run.font.size.pt if run.font.size else normal.font.size.pt
            assert 13 <= size <= 14 or (size == 12 and run.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")


def test_national_heading() -> None:
    doc = _docx(_transcript(), MEETING)
    heading = doc.tables[0]
    left, right = heading.cell(0, 0), heading.cell(0, 1)
    assert _cell_texts(left)[0] == "ỦY BAN NHÂN DÂN TỈNH LÂM ĐỒNG"
    assert left.paragraphs[0].runs[0].bold
    assert _cell_texts(right)[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert all(p.runs[0].bold for p in right.paragraphs[:2])
    # The rules under the issuing body and under the motto: bordered empty paragraphs.
    for cell in (left, right):
        rule = cell.paragraphs[-1]
        assert rule.text == ""
        assert rule._p.pPr.find(qn("w:pBdr")).find(qn("w:top")).get(qn("w:val")) == "single"
    assert heading.cell(1, 0).text == "Số: 12/BB-UBND"
    date = heading.cell(1, 1).paragraphs[0]
    assert date.text == "Lâm Đồng, ngày 05 tháng 12 năm 2026"  # 18:30 UTC on the 4th is the 5th in Vietnam
    assert all(run.italic for run in date.runs)


def test_parent_organisation_above_the_issuing_body() -> None:
    meeting = MeetingInfo(parent_organisation="UBND tỉnh Lâm Đồng", organisation="Văn phòng")
    left = _docx(_transcript(), meeting).tables[0].cell(0, 0)
    assert _cell_texts(left)[:2] == ["UBND TỈNH LÂM ĐỒNG", "VĂN PHÒNG"]
    assert not left.paragraphs[0].runs[0].bold and left.paragraphs[1].runs[0].bold


def test_filled_from_meeting_info() -> None:
    doc = _docx(_transcript(), MEETING)
    texts = [p.text for p in doc.paragraphs]
    i = texts.index("BIÊN BẢN")
    assert texts[i + 1] == "Cuộc họp giao ban tháng 12"  # first letter capitalised
    rule = doc.paragraphs[i + 2]  # the decree's short rule under the summary
    assert rule.text == "" and rule._p.pPr.find(qn("w:pBdr")) is not None
    expected_in_order = [
        "1. Thời gian, địa điểm",
        "- Thời gian bắt đầu: 01 giờ 30 phút, ngày 05 tháng 12 năm 2026.",
        "- Địa điểm: Phòng họp số 1, trụ sở UBND tỉnh.",
        "2. Thành phần tham dự",
        "- Chủ trì: Ông Nguyễn Văn A - Chủ tịch UBND tỉnh.",
        "- Thư ký: Trần Thị B - Chuyên viên Văn phòng.",
        "- Thành viên tham dự:",
        "+ Lê Văn C - Phó Chủ tịch UBND tỉnh;",
        "+ Phạm Thị D - Chánh Văn phòng;",
        "- Vắng mặt: Hoàng Văn E (đi công tác).",
        "3. Nội dung cuộc họp",
        "a) Chương trình:",
        "Đánh giá tình hình tháng 11",
        "Nhiệm vụ tháng 12",
        "b) Diễn biến (theo bản ghi âm, dài 01:02:05):",
        "[00:00:00] Người nói 1: Kính thưa các đồng chí. Hôm nay họp về Đà Lạt.",
        "[01:00:00] Người nói 2: Dạ, thưa đồng chí Chủ tịch.",
        "4. Kết luận",
        "Giao Sở Tài chính tổng hợp, báo cáo trước ngày 15/12.",
        "Các sở, ngành triển khai nhiệm vụ.",
        # 01:30 plus the recording's 3725 s.
        "Cuộc họp kết thúc vào lúc 02 giờ 32 phút cùng ngày./.",
    ]
    positions = [texts.index(line) for line in expected_in_order]
    assert positions == sorted(positions)
    assert doc.core_properties.title == "cuộc họp giao ban tháng 12"


def test_signature_block() -> None:
    signatures = _docx(_transcript(), MEETING).tables[-1]
    left = [t for t in _cell_texts(signatures.cell(0, 0)) if t]
    right = [t for t in _cell_texts(signatures.cell(0, 1)) if t]
    assert left == ["THƯ KÝ", "(Ký, ghi rõ họ tên)", "Trần Thị B"]
    assert right == ["CHỦ TRÌ", "(Ký, ghi rõ họ tên)", "Nguyễn Văn A"]
    assert signatures.cell(0, 0).paragraphs[1].runs[0].italic
    assert signatures.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None  # never cut across two pages


def test_blank_form_has_dotted_lines() -> None:
    # created_at 20:00 UTC on 1 March is 2 March in Vietnam: the record is dated by it.
    doc = _docx(Transcript("Họp", datetime(2026, 3, 1, 20, 0), 0.0), None)
    heading = doc.tables[0]
    assert heading.cell(0, 0).paragraphs[0].text == "…" * 8
    assert heading.cell(1, 0).text == "Số: ……/BB-……"
    assert heading.cell(1, 1).text == "……, ngày 02 tháng 3 năm 2026"
    dotted = {p.text for p in doc.paragraphs if p.paragraph_format.tab_stops and p.text.endswith("\t")}
    for label in ("- Thời gian bắt đầu:", "- Địa điểm:", "- Chủ trì:", "- Thư ký:", "- Thành viên tham dự:"):
        assert f"{label}\t" in dotted
    leaders = {stop.leader for p in doc.paragraphs for stop in p.paragraph_format.tab_stops if p.text.endswith("\t")}
    assert leaders == {WD_TAB_LEADER.DOTS}
    texts = [p.text for p in doc.paragraphs]
    assert "Cuộc họp kết thúc vào lúc …… giờ …… phút cùng ngày./." in texts
    assert [t for t in _cell_texts(doc.tables[-1].cell(0, 1)) if t] == ["CHỦ TRÌ", "(Ký, ghi rõ họ tên)"]


def test_meeting_over_midnight_names_the_end_date() -> None:
    meeting = MeetingInfo(
        start=datetime(2026, 12, 5, 22, 0, tzinfo=HANOI), end=datetime(2026, 12, 6, 0, 15, tzinfo=HANOI)
    )
    texts = [p.text for p in _docx(_transcript(), meeting).paragraphs]
    assert "Cuộc họp kết thúc vào lúc 00 giờ 15 phút, ngày 06 tháng 12 năm 2026./." in texts


def test_page_numbers_from_page_two() -> None:
    section = _docx(_transcript(), MEETING).sections[0]
    assert section.different_first_page_header_footer
    header = section.header.paragraphs[0]._p
    assert " PAGE " in [node.text for node in header.iter(qn("w:instrText"))]


@pytest.mark.parametrize(
    ("when", "line"),
    [
        (datetime(2026, 12, 5, 9, 0, tzinfo=HANOI), "Lâm Đồng, ngày 05 tháng 12 năm 2026"),
        (datetime(2026, 3, 1, 9, 0, tzinfo=HANOI), "Lâm Đồng, ngày 01 tháng 3 năm 2026"),
        # The decree: a leading zero for days below 10 and for the months 1 and 2 only.
        (datetime(2026, 2, 9, 9, 0, tzinfo=HANOI), "Lâm Đồng, ngày 09 tháng 02 năm 2026"),
        (datetime(2026, 1, 15, 9, 0, tzinfo=HANOI), "Lâm Đồng, ngày 15 tháng 01 năm 2026"),
        (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "Lâm Đồng, ngày 01 tháng 01 năm 2027"),
        (datetime(2026, 12, 31, 17, 0), "Lâm Đồng, ngày 01 tháng 01 năm 2027"),  # naive = UTC
        (None, "Lâm Đồng, ngày …… tháng …… năm ……"),
    ],
)
def test_date_line(when: datetime | None, line: str) -> None:
    assert date_line("Lâm Đồng", when) == line


def test_text_is_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Phòng họp Đà Lạt")
    meeting = MeetingInfo(venue=f"  {nfd}  ", chair=nfd, attendees=[nfd, "  "])
    assert meeting.venue == "Phòng họp Đà Lạt" and meeting.attendees == ("Phòng họp Đà Lạt",)
    t = Transcript(nfd, datetime(2026, 1, 1), 5.0, (Segment(0.0, 5.0, nfd, speaker="Người nói 1"),))
    doc = _docx(t, meeting)
    for p in _all_paragraphs(doc):
        assert unicodedata.is_normalized("NFC", p.text)
    assert "Phòng họp Đà Lạt" in {p.text for p in doc.paragraphs}  # the summary, from the NFD title


def test_meeting_info_values() -> None:
    m = MeetingInfo(title="", attendees="Lê Văn C\n- Phạm Thị D\n\n", absent=["X"])
    assert m.title is None
    assert m.attendees == ("Lê Văn C", "Phạm Thị D") and m.absent == ("X",)
    assert hash(m) == hash(MeetingInfo(attendees=("Lê Văn C", "Phạm Thị D"), absent=("X",)))
    with pytest.raises(ValueError, match=r"MeetingInfo.start with a UTC offset.*replace\(tzinfo="):
        MeetingInfo(start=datetime(2026, 12, 5, 8, 0))
    with pytest.raises(ValueError, match="end after start"):
        MeetingInfo(start=datetime(2026, 12, 5, 8, 0, tzinfo=HANOI), end=datetime(2026, 12, 5, 7, 0, tzinfo=HANOI))
    assert MEETING.ended(3725.0) == datetime(2026, 12, 4, 19, 32, 5, tzinfo=UTC)
    assert MeetingInfo().ended(3725.0) is None


# Child sequences of ECMA-376 Part 1 (17.3.1.26 pPr, 17.3.2.28 rPr, 17.4.60 tblPr, 17.6.17 sectPr): Word
# refuses to open a file whose properties come out of this order, LibreOffice does not mind.
_ORDER = {
    "pPr": "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
    "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
    "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc textDirection "
    "textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange",
    "rPr": "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint noProof "
    "snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u effect bdr shd fitText "
    "vertAlign rtl cs em lang eastAsianLayout specVanish oMath",
    "tblPr": "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
    "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption tblDescription",
    "sectPr": "headerReference footerReference footnotePr endnotePr type pgSz pgMar paperSrc pgBorders "
    "lnNumType pgNumType cols formProt vAlign noEndnote titlePg textDirection bidi rtlGutter docGrid",
}


@pytest.mark.parametrize("meeting", [MEETING, None])
def test_properties_in_schema_order(meeting: MeetingInfo | None) -> None:
    import zipfile

    from lxml import etree

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    order = {tag: words.split() for tag, words in _ORDER.items()}
    order["sectPr"][1] = "headerReference"  # header and footer references may interleave
    with zipfile.ZipFile(io.BytesIO(export(_transcript(), "docx", meeting))) as z:
        parts = [n for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")]
        for part in parts:
            root = etree.fromstring(z.read(part))
            for tag, sequence in order.items():
                for element in root.iter(f"{w}{tag}"):
                    children = [c.tag.removeprefix(w) for c in element if c.tag.startswith(w)]
                    assert all(c in sequence for c in children), (part, tag, children)
                    ranks = [sequence.index(c) for c in children]
                    assert ranks == sorted(ranks), (part, tag, children)
