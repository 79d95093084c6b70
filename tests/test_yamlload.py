"""yamlload: libyaml's loader and the pure-Python one give the same values and lines; limits hold on both."""

import pytest

from devops_mlops import yamlload
from devops_mlops.errors import InputError

pytestmark = pytest.mark.fast

TEXT = """\
a: 1
b:
  - x
  - {y: 2, z: [3, 4]}
anchor: &common
  k: v
merged:
  <<: *common
  extra: "s"
when: 2024-01-02
flag: yes
empty:
"""


@pytest.fixture(params=["libyaml", "python"])
def engine(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(yamlload, "_CLoader", None)
    elif yamlload._CLoader is None:
        pytest.skip("PyYAML without libyaml")
    return request.param


def test_values_and_lines(engine):
    data, lines = yamlload.parse_with_lines(TEXT, "x.yml")
    assert data["b"][1] == {"y": 2, "z": [3, 4]}
    assert data["merged"] == {"k": "v", "extra": "s"}
    assert str(data["when"]) == "2024-01-02" and data["flag"] is True and data["empty"] is None
    assert lines[("b", 1, "z", 1)] == 4 and lines[("merged", "extra")] == 9 and lines[("empty",)] == 12


@pytest.mark.parametrize("text,needle,line", [
    ("[" * 101 + "]" * 101, "nested deeper than 100 levels", 1),
    ("a: [1, 2\nb: 3\n", "malformed YAML", 2),
    ("a: 1\na: 2\n", "duplicate key 'a'", 2),
])
def test_limits_and_errors(engine, text, needle, line):
    with pytest.raises(InputError) as exc:
        yamlload.parse_with_lines(text, "x.yml")
    assert needle in exc.value.message and exc.value.line == line


def test_one_hundred_levels_are_fine(engine):
    data, _ = yamlload.parse_with_lines("[" * 99 + "1" + "]" * 99, "x.yml")
    for _ in range(99):
        data = data[0]
    assert data == 1


def test_alias_bomb_is_stopped(engine):
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdef", "bcdefg"))
    with pytest.raises(InputError) as exc:
        yamlload.parse_with_lines(text, "x.yml")
    assert "expands to more than" in exc.value.message
