"""Caption labels, citing sentences, line joining and the benchmark's caption normalisation."""

from __future__ import annotations

import pytest

from scicmr.corpus.pdf.captions import (CAPTION_RE, caption_start, cited_numbers, find_captions, join_lines,
                                        normalise_caption, split_sentences)
from scicmr.corpus.pdf.layout import Line


def _line(text: str, top: float = 100.0, size: float = 9.0, x0: float = 72.0, bold_label: bool = False) -> Line:
    return Line(text=text, x0=x0, top=top, x1=x0 + 5.0 * len(text), bottom=top + size, size=size,
                font="Times-Roman", first_bold=bold_label)


@pytest.mark.parametrize("text, label, number", [
    ("Figure 3: The set-up.", "Figure 3", "3"),
    ("Fig. 3. The set-up.", "Fig. 3", "3"),
    ("FIG. 3 | The set-up.", "FIG. 3", "3"),
    ("Figure S2: Extra panel.", "Figure S2", "S2"),
    ("Fig 12. Twelve.", "Fig 12", "12"),
    ("Supplementary Figure 4: More.", "Supplementary Figure 4", "4"),
    ("图3 实验装置", "图3", "3"),
    ("图 3：实验装置", "图 3", "3"),
])
def test_caption_labels(text, label, number):
    match = caption_start(_line(text))
    assert match is not None
    assert (match.group("label"), match.group("num") or match.group("znum")) == (label, number)


@pytest.mark.parametrize("text", ["Figure 3 shows the set-up.", "Fig. 3.5 compares both.", "Figures are useful.",
                                  "In Figure 3: no."])
def test_body_sentences_are_not_captions(text):
    assert caption_start(_line(text)) is None


def test_bold_label_without_delimiter_is_a_caption():
    assert caption_start(_line("Figure 3 The set-up.", bold_label=True)) is not None
    assert CAPTION_RE.match("Figure 3 The set-up.").group("delim") is None


def test_caption_block_is_the_paragraph_and_stops_at_gap_and_font_change():
    lines = [_line("body text that ends the paragraph.", top=80, size=10),
             _line("Figure 2: First caption line that goes on", top=100),
             _line("and continues on the second line.", top=111),
             _line("Body text after a gap.", top=140, size=10),
             _line("Fig. 3. Small font caption", top=160),
             _line("In a bigger font this is not caption.", top=171, size=12)]
    caps = find_captions(lines, page=1)
    assert [(c.number, c.text) for c in caps] == [
        ("2", "First caption line that goes on and continues on the second line."),
        ("3", "Small font caption")]
    assert caps[0].box == (72.0, 100.0, lines[1].x1, 120.0)


def test_caption_label_in_the_middle_of_a_paragraph_is_not_a_caption():
    lines = [_line("the values are summarised in", top=100), _line("Fig. 3. They grow with time.", top=111)]
    assert find_captions(lines, page=1) == []


def test_cited_numbers():
    assert cited_numbers("As shown in Fig. 3, it rises.") == {"3"}
    assert cited_numbers("see Figure 3a and Figure S1") == {"3", "S1"}
    assert cited_numbers("(Figs. 2 and 3)") == {"2", "3"}
    assert cited_numbers("Figures 2–4 agree") == {"2", "3", "4"}
    assert cited_numbers("Figs. 1, 5 & 7") == {"1", "5", "7"}
    assert cited_numbers("如图3所示") == {"3"}
    assert cited_numbers("Table 3 lists it.") == set()


def test_split_sentences_keeps_abbreviations():
    text = "Results are in Fig. 3. They agree with Smith et al. The end! 结果如图2所示。下一句。"
    assert split_sentences(text) == ["Results are in Fig. 3.", "They agree with Smith et al. The end!",
                                     "结果如图2所示。", "下一句。"]


def test_join_lines_dehyphenates_using_the_document_vocabulary():
    assert join_lines(["the retrie-", "val step"]) == "the retrieval step"
    assert join_lines(["a cross-", "modal space"], {"cross-modal", "cross", "modal"}) == "a cross-modal space"
    assert join_lines(["Fourier-", "Bessel series"]) == "Fourier-Bessel series"
    assert join_lines(["one", "two"]) == "one two"


def test_normalise_caption():
    assert normalise_caption(" The  ﬁrst\ncross- modal “map” — done ") == normalise_caption('The first crossmodal "map" - done')
    assert normalise_caption("a–b") == "ab"
    assert normalise_caption("S-2") == "S-2"


def test_caption_right_under_a_short_figure_label_starts_a_block():
    lines = [_line("temperature (K)", top=100, x0=150), _line("Figure 1: Caption text under the axis label.", top=111)]
    assert [c.text for c in find_captions(lines, page=1)] == ["Caption text under the axis label."]


def test_lines_spell_out_ligatures_and_split_at_gutters():
    from scicmr.corpus.pdf.layout import _make_line, _row_lines

    def word(text, x0, x1, top=100.0):
        return {"text": text, "x0": x0, "x1": x1, "top": top, "bottom": top + 10, "size": 10.0, "fontname": "X+Times-Bold"}

    rows = _row_lines([word("ﬁrst", 72, 90), word("eﬀect", 93, 120), word("right", 330, 350, top=100.5)])
    lines = [_make_line(r) for r in rows]
    assert [ln.text for ln in lines] == ["first effect", "right"]
    assert lines[0].bold and lines[0].first_bold
