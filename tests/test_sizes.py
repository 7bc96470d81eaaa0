"""One size type and parser: WIDTHxHEIGHT everywhere, the old quantize HxW options for one release."""

from __future__ import annotations

import pytest

from edgevsr.errors import EdgeVSRError
from edgevsr.sizes import Size, parse_legacy_hw, parse_size
from tests.conftest import run_cli


def test_parse_size_is_width_first():
    s = parse_size("480x272")
    assert s == Size(480, 272) and s.width == 480 and s.height == 272
    assert s.hw == (272, 480) and str(s) == "480x272"
    assert parse_size(" 240 X 136 ") == (240, 136)
    assert parse_size((96, 64)) == Size(96, 64)


@pytest.mark.parametrize("text", ["0x272", "480x0", "-480x272", "480x-8"])
def test_zero_and_negative_sizes_are_refused(text):
    with pytest.raises(EdgeVSRError, match=rf"^--min {text}: width and height must be positive$"):
        parse_size(text, "min")


@pytest.mark.parametrize("text", ["480", "480x272x3", "wide", "480x272.5", ""])
def test_malformed_sizes_name_the_spelling(text):
    with pytest.raises(EdgeVSRError, match="expected WIDTHxHEIGHT"):
        parse_size(text)


def test_legacy_spelling_is_height_first():
    assert parse_legacy_hw("272x480") == Size(480, 272)
    assert parse_legacy_hw("1x3x32x48") == Size(48, 32)
    with pytest.raises(EdgeVSRError, match="1x3xHxW or HxW"):
        parse_legacy_hw("480p")
    with pytest.raises(EdgeVSRError, match="must be positive"):
        parse_legacy_hw("0x480", "calib-shape")


def _cli(*args: str) -> tuple[int, str]:
    return run_cli(*args)


def test_old_quantize_spelling_gives_a_one_line_note(tmp_path):
    out = tmp_path / "m.onnx"
    # --int8 with --fp16 fails right after the sizes are read: the note is printed, nothing is exported
    code, err = _cli("quantize", "egvsr", "--shape", "1x3x32x48", "--calib-shape", "16x24", "--int8", "--fp16",
                     "-o", str(out))
    assert code == 2 and "exclude each other" in err, err
    notes = [ln for ln in err.splitlines() if ln.startswith("edgevsr: note:")]
    assert notes == [
        "edgevsr: note: --shape HEIGHTxWIDTH is deprecated and goes in the next release; use --size "
        "WIDTHxHEIGHT (48x32)",
        "edgevsr: note: --calib-shape HEIGHTxWIDTH is deprecated and goes in the next release; use --calib-size "
        "WIDTHxHEIGHT (24x16)",
    ]
    assert not out.exists()


def test_new_spelling_has_no_note_and_old_plus_new_is_an_error(tmp_path):
    out = tmp_path / "m.onnx"
    code, err = _cli("quantize", "egvsr", "--size", "48x32", "--int8", "--fp16", "-o", str(out))
    assert code == 2 and "note" not in err
    code, err = _cli("quantize", "egvsr", "--size", "48x32", "--shape", "32x48", "-o", str(out))
    assert code == 2 and err.strip() == ("edgevsr: error: --size and --shape (its deprecated HxW spelling) both "
                                         "given; use --size WxH")


@pytest.mark.parametrize("args, flag", [
    (("quantize", "egvsr", "--size", "0x32"), "--size 0x32"),
    (("quantize", "egvsr", "--speed-size", "-480x272"), "--speed-size -480x272"),
    (("profile", "--size", "240x0"), "--size 240x0"),
    (("report", "--sizes", "240x136,-8x8"), "--sizes -8x8"),
    (("report", "--eval-size", "0x0"), "--eval-size 0x0"),
])
def test_every_command_refuses_non_positive_sizes(args, flag, tmp_path):
    extra = ("-o", str(tmp_path / ("m.onnx" if args[0] == "quantize" else "rep")))
    code, err = _cli(*args, *(extra if args[0] != "profile" else ()))
    assert code == 2 and err.strip() == f"edgevsr: error: {flag}: width and height must be positive", err
    assert list(tmp_path.iterdir()) == []
