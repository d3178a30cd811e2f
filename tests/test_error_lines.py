"""Every command says what went wrong the same way: one line, `station <command>: ...` (argparse's own prefix)."""

from __future__ import annotations

import pytest

from station.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "{missing}"],
        ["recover", "--root", "{missing}"],
        ["episodes", "{missing}"],
        ["pack", "{missing}"],
        ["exclude", "{missing}", "1"],
        ["drop-last", "{missing}"],
        ["record", "--headless", "--demo", "--fps", "0", "--root", "{missing}"],
        ["calibrate", "--port", "/dev/ttyNOPE3", "--role", "follower", "--id", "f", "--calibration-dir", "{tmp}"],
        ["bench", "--size", "2x2"],
    ],
    ids=lambda argv: argv[0],
)
def test_each_command_prefixes_its_one_error_line_with_its_own_name(tmp_path, capsys, argv):
    argv = [a.format(missing=tmp_path / "missing", tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"station {argv[0]}: "), err
    with pytest.raises(SystemExit):  # argparse's own usage error: the same prefix, one line too
        main([argv[0], "--no-such-option"])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"station {argv[0]}: error: "), err


@pytest.mark.parametrize("argv", [["--fps", "abc"], ["record", "--fps", "abc"], ["check"], ["bench", "--cameras", "9"],
                                  ["no-such-command"]])
def test_a_usage_error_is_one_line_naming_the_help(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].endswith("--help lists the options)"), err


def test_the_window_without_a_command_says_station(capsys):
    assert main(["--fps", "0"]) == 2
    assert capsys.readouterr().err == "station: --fps must be between 1 and 240, got 0\n"
