"""Reading config files and ``atelier-edge check-config``: ok + summary, or every error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "config" / "edge.yaml"


def write(tmp_path: Path, text: str, name: str = "edge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bad_example(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("type: uint32, word_order: big}", "type: uint33, word_order: big}")
    text = text.replace("timezone: Europe/Paris", "timezone: Mars/Olympus")
    text = text.replace("poll_ms: 250", "poll_msec: 250")
    return write(tmp_path, text)


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def test_issues_carry_their_yaml_line(tmp_path: Path) -> None:
    error = load_error(bad_example(tmp_path))
    lines = bad_example(tmp_path).read_text(encoding="utf-8").splitlines()
    by_path = {issue.path: issue for issue in error.issues}
    count_type = by_path["machines[1].source.signals.count.type"]
    assert count_type.line is not None and "uint33" in lines[count_type.line - 1]
    timezone = by_path["edge.timezone"]
    assert timezone.line is not None and "Mars/Olympus" in lines[timezone.line - 1]
    typo = by_path["machines[1].source.poll_msec"]
    assert typo.line is not None and "poll_msec" in lines[typo.line - 1]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "edge:\n  id: x\n  api: {host: a\nmachines: []\n")
    (issue,) = load_error(path).issues
    assert issue.path == "" and issue.line == 4 and "YAML syntax error" in issue.message


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "        reject: {field: counters.reject}\n",
        "        reject: {field: counters.reject}\n        count: {field: other}\n",
    )
    (issue,) = load_error(write(tmp_path, text)).issues
    assert "duplicate key 'count'" in issue.message
    assert issue.line == text.splitlines().index("        count: {field: other}") + 1


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    (issue,) = load_error(write(tmp_path, text)).issues
    assert "empty" in issue.message


def test_file_not_found_and_directory(tmp_path: Path) -> None:
    (issue,) = load_error(tmp_path / "nope.yaml").issues
    assert issue.message == "file not found"
    (issue,) = load_error(tmp_path).issues
    assert "directory" in issue.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_bytes(b"edge:\n  id: caf\xe9\n")
    (issue,) = load_error(path).issues
    assert "UTF-8" in issue.message


def test_check_config_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "ok" and err == ""
    assert "edge lyon-cell-1" in out and "http://127.0.0.1:8000" in out
    assert "machine press-01: opcua opc.tcp://127.0.0.1:4840" in out
    assert "machine lathe-02: modbus 127.0.0.1:5020" in out
    assert "machine oven-03: mqtt mqtt://127.0.0.1:1883" in out
    assert "shift night: 22:00-06:00 (next day)" in out


def test_check_config_lists_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(bad_example(tmp_path))]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 3
    assert any(
        line.startswith("machines[1].source.signals.count.type: has value 'uint33'.")
        for line in lines
    )
    assert any(line.startswith("edge.timezone: has value 'Mars/Olympus'.") for line in lines)
    assert any("Did you mean 'poll_ms'?" in line for line in lines)


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["check-config", str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: file not found\n"


def console_script() -> Path:
    script = Path(sys.executable).parent / "atelier-edge"
    if not script.exists():
        pytest.fail("atelier-edge is not installed: run `.venv/bin/pip install -e . --no-deps`")
    return script


def test_console_script_check_config() -> None:
    done = subprocess.run(
        [str(console_script()), "check-config", "config/edge.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "ok"


def test_console_script_bad_config_has_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "edge: {id: x}\nmachines: 3\n")
    done = subprocess.run(
        [str(console_script()), "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "edge.data_dir: is required (line 1)",
        "edge.timezone: is required (line 1)",
        "machines: has value 3. Must be a list (line 2)",
    ]


def test_line_of_a_dotted_signal_name(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "        reject: {field: counters.reject}\n",
        "        reject: {field: counters.reject}\n"
        "        quality.diameter:\n          field: d\n          scale: big\n",
    )
    (issue,) = load_error(write(tmp_path, text)).issues
    assert issue.path == "machines[2].source.signals.quality.diameter.scale"
    assert issue.line == text.splitlines().index("          scale: big") + 1
