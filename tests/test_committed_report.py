"""The committed report, as a reader meets it: no line runs off the page."""

from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "reports" / "REPORT.md"
MAX_LINE = 300  # characters; figure lines (an image and its alt text) are exempt


def test_no_line_of_the_committed_report_is_longer_than_300_characters() -> None:
    long = [(i, len(line)) for i, line in enumerate(REPORT.read_text(encoding="utf-8").splitlines(), 1)
            if len(line) > MAX_LINE and not line.startswith("![")]
    assert not long, f"lines longer than {MAX_LINE} characters in reports/REPORT.md (line, length): {long[:5]}"
