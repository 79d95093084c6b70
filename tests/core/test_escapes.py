import ast

import pytest

from devops_mlops.core.escapes import mask_escapes, may_have_escapes

pytestmark = pytest.mark.fast


def masked(text: str) -> list[str]:
    lines = text.split("\n")
    out = mask_escapes(lines)
    assert len(out) == len(lines)  # positions are kept
    ast.parse("\n".join(out))  # and the result is Python
    return out


def test_shell_escapes_and_line_magics_become_placeholders_in_place():
    out = masked("import os\n!pip install requests==2.31\n%pip install -q x\n!!ls\nprint(os.sep)")
    assert out == ["import os", "pass", "pass", "pass", "print(os.sep)"]


def test_an_escape_continued_with_backslashes_takes_its_lines_along():
    out = masked("!deepspeed --num_gpus 2 train.py \\\n    --epochs 3 \\\n    --lr 1e-4\nx = 1")
    assert out == ["pass", "", "", "x = 1"]


def test_assignment_forms_keep_the_name_bound():
    out = masked("files = !ls /dbfs/tmp\nt = %timeit -o f()\nprint(files, t)")
    assert out[:2] == ["files = None", "t = None"]


def test_escapes_inside_a_block_keep_the_block_valid():
    assert masked("if ok:\n    !pip install x\nelse:\n    %sh ls")[1] == "    pass"


def test_help_lines_are_escapes():
    assert masked("df.head?\nos.path??")[:2] == ["pass", "pass"]


@pytest.mark.parametrize(
    "code",
    [
        "value = (a\n    % b)",
        "same = (a\n        != b)",
        'doc = """\n%s is the name\n!not a command\n"""',
        "x = 5 % 3\nok = a != b",
    ],
)
def test_python_that_only_looks_like_an_escape_is_left_alone(code):
    assert mask_escapes(code.split("\n")) == code.split("\n")


def test_cheap_pre_check():
    assert may_have_escapes("x = 1\n!pip install y")
    assert may_have_escapes("files = !ls")
    assert not may_have_escapes("x = '%s' % y\nif a != b:\n    print('really?')")
