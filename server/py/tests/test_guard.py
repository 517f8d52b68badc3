"""guard.py's command line (the guard itself runs in server/process/__tests__/guard.spec.ts)."""

import pytest

import guard

NOT_NUMBERS = "guard.py: PARENT_PID and GRACE_SECONDS must be numbers, not"
NO_COMMAND = "guard.py: no -- COMMAND after"


def test_a_plain_command():
    assert guard.parse(["123", "2.5", "--", "python3", "-m", "ipykernel"]) == (
        123,
        2.5,
        False,
        [],
        ["python3", "-m", "ipykernel"],
    )


def test_group_only_and_files_to_remove():
    argv = ["1", "0", "--group-only", "--remove", "/a", "--remove", "/b c", "--", "jupyter", "lab"]
    assert guard.parse(argv) == (1, 0.0, True, ["/a", "/b c"], ["jupyter", "lab"])


@pytest.mark.parametrize(
    "argv, why",
    [
        ([], f"{NOT_NUMBERS} []"),
        (["12x", "1", "--", "sleep"], f"{NOT_NUMBERS} ['12x', '1']"),
        (["1", "soon", "--", "sleep"], f"{NOT_NUMBERS} ['1', 'soon']"),
        (["1", "2", "sleep", "5"], f"{NO_COMMAND} 1 2"),
        (["1", "2", "--"], f"{NO_COMMAND} 1 2"),
        (["1", "2", "--remove"], f"{NO_COMMAND} 1 2"),
        (["1", "2", "--remove", "/f", "--group-only", "--", "x"], f"{NO_COMMAND} 1 2 --remove /f"),
    ],
)
def test_a_wrong_command_line_says_what_is_wrong_and_how_it_goes(argv, why):
    with pytest.raises(SystemExit) as exited:
        guard.parse(argv)
    assert str(exited.value) == f"{why}\n{guard.USAGE}"
