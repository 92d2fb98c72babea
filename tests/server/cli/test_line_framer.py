import pytest

from server.cli.line_framer import LineFramer, LineTooLong


def test_lines_split_across_chunks():
    framer = LineFramer(100)
    assert framer.push(b'{"a"') == []
    assert framer.push(b': 1}\n{"b": 2}\n{"c"') == ['{"a": 1}', '{"b": 2}']
    assert framer.push(b": 3}\r\n") == ['{"c": 3}']
    assert framer.flush() == []


def test_multibyte_character_split_between_chunks():
    data = "Zürich — 東京\n".encode()
    framer = LineFramer(100)
    assert framer.push(data[:3]) == []
    assert framer.push(data[3:]) == ["Zürich — 東京"]


def test_flush_returns_unterminated_tail():
    framer = LineFramer(100)
    assert framer.push(b"last line without newline") == []
    assert framer.flush() == ["last line without newline"]
    assert framer.flush() == []


def test_line_over_cap_raises_before_its_newline():
    framer = LineFramer(10)
    framer.push(b"12345")
    with pytest.raises(LineTooLong):
        framer.push(b"678901")


def test_line_exactly_at_cap_is_fine():
    assert LineFramer(5).push(b"12345\n") == ["12345"]
    with pytest.raises(LineTooLong):
        LineFramer(5).push(b"123456\n")
