"""Partition planning (streamed, byte ranges) and parsing one partition."""

from __future__ import annotations

import codecs
import itertools

import pytest

from handlers.etl.errors import FileRejected
from handlers.etl.formats import CSV, JSON_ARRAY, JSON_LINES, parse_partition, plan_partitions

CSV_BODY = b"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n"


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def plan(data: bytes, rows: int = 2, chunk: int = 1 << 20):
    return plan_partitions(chunked(data, chunk), partition_rows=rows, source="s3://b/f.csv")


def slices(data: bytes, rows: int = 2, chunk: int = 1 << 20) -> list[bytes]:
    return [data[p.start:p.end] for p in plan(data, rows, chunk).partitions]


def rejected(data: bytes) -> FileRejected:
    with pytest.raises(FileRejected) as err:
        plan(data)
    return err.value


def test_csv_is_cut_every_n_rows_after_the_header() -> None:
    result = plan(CSV_BODY)
    assert (result.format, result.columns, result.rows) == (CSV, ("a", "b"), 5)
    assert CSV_BODY[result.header_start:result.header_end] == b"a,b\n"
    assert slices(CSV_BODY) == [b"1,2\n3,4\n", b"5,6\n7,8\n", b"9,10\n"]
    assert [(p.first_row, p.rows) for p in result.partitions] == [(1, 2), (3, 2), (5, 1)]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_cuts_do_not_depend_on_chunk_size(chunk: int) -> None:
    assert slices(CSV_BODY, chunk=chunk) == slices(CSV_BODY)


def test_partitions_cover_the_file_without_gaps() -> None:
    result = plan(CSV_BODY, rows=3)
    bounds = [(p.start, p.end) for p in result.partitions]
    assert bounds[0][0] == result.header_end and bounds[-1][1] == len(CSV_BODY)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def test_newline_inside_quotes_is_not_a_record_end() -> None:
    data = b'a,b\n1,"x\ny"\n2,z\n3,w\n'
    assert slices(data, rows=1, chunk=5) == [b'1,"x\ny"\n', b"2,z\n", b"3,w\n"]


def test_blank_lines_are_not_rows() -> None:
    data = b"a,b\n1,2\n\n3,4\n\n"
    assert plan(data, rows=1).rows == 2


def test_last_row_without_newline_counts() -> None:
    assert plan(b"a,b\n1,2\n3,4", rows=5).rows == 2


def test_utf8_bom_is_outside_the_header() -> None:
    data = codecs.BOM_UTF8 + b"a,b\n1,2\n"
    result = plan(data)
    assert result.columns == ("a", "b") and result.header_start == 3


def test_json_lines_have_no_header() -> None:
    result = plan(b'{"a": 1}\n{"a": 2}\n{"a": 3}\n', rows=2)
    assert (result.format, result.header_end, result.rows, len(result.partitions)) == (JSON_LINES, 0, 3, 2)


def test_json_array_is_one_partition() -> None:
    data = b'[{"a": 1},\n {"a": 2}]'
    result = plan(data, rows=1)
    assert result.format == JSON_ARRAY and [(p.start, p.end) for p in result.partitions] == [(0, len(data))]


def test_empty_file_is_rejected() -> None:
    err = rejected(b"")
    assert (err.code, err.message) == ("EMPTY_FILE", "s3://b/f.csv is empty")


def test_header_only_file_is_rejected() -> None:
    err = rejected(b"a,b\n")
    assert (err.code, err.message) == ("EMPTY_FILE", "s3://b/f.csv has no data rows")


def test_bad_encoding_names_the_byte() -> None:
    err = rejected(b"a,b\n1,\xff\n")
    assert (err.code, err.message) == ("BAD_ENCODING", "s3://b/f.csv: not UTF-8 at byte 6")


def test_binary_content_is_not_csv_or_json() -> None:
    err = rejected(b"PK\x03\x04\x00\x00zip")
    assert err.code == "UNSUPPORTED_FORMAT"
    assert err.message.startswith("s3://b/f.csv: binary content (NUL byte at 4)")


def test_parse_csv_partition_uses_the_header_and_keeps_text() -> None:
    frame = parse_partition(b"0.50,007\n", fmt=CSV, header=b"a,b\n", source="f", first_row=1)
    assert frame.to_dict("list") == {"a": ["0.50"], "b": ["007"]}


def test_parse_short_csv_row_fills_missing_fields_with_empty_text() -> None:
    frame = parse_partition(b"1\n", fmt=CSV, header=b"a,b\n", source="f", first_row=1)
    assert frame.to_dict("list") == {"a": ["1"], "b": [""]}


def test_parse_csv_row_with_too_many_fields_names_the_row() -> None:
    with pytest.raises(FileRejected) as err:
        parse_partition(b"1,2\n3,4,5\n", fmt=CSV, header=b"a,b\n", source="f", first_row=10)
    assert (err.value.code, err.value.message) == ("MALFORMED_CSV", "f: row 11 has 3 fields")


def test_parse_json_lines_turns_values_into_text() -> None:
    frame = parse_partition(b'{"a": "x", "b": 2}\n{"a": "y"}\n', fmt=JSON_LINES, header=b"", source="f",
                            first_row=1)
    assert frame["a"].tolist() == ["x", "y"] and frame["b"].tolist()[1] == ""


def test_parse_bad_json_line_names_the_row() -> None:
    with pytest.raises(FileRejected) as err:
        parse_partition(b'{"a": 1}\n{oops\n', fmt=JSON_LINES, header=b"", source="f", first_row=5)
    assert err.value.code == "BAD_JSON" and err.value.message.startswith("f: row 6 is not JSON")


def test_parse_json_array_of_non_objects_is_rejected() -> None:
    with pytest.raises(FileRejected) as err:
        parse_partition(b"[1, 2]", fmt=JSON_ARRAY, header=b"", source="f", first_row=1)
    assert (err.value.code, err.value.message) == ("BAD_JSON", "f: row 1 is not a JSON object")
