"""Azure Pipelines YAML: template-expression handling, template expansion and our own rules.

Pure logic, no I/O: files come in through a ``load`` callback, and the check of
``mlops …`` command lines through a ``check_command`` callback (the ops layer
gives it the real click commands). Every value keeps where it came from (file,
key path) so each finding names a file line.

The modules, from the bottom up: :mod:`.findings` (Finding, Loc), :mod:`.expressions`
(the ``${{ }}`` condition language), :mod:`.resolve` (unnesting conditional keys,
substituting parameters), :mod:`.expansion` (templates into jobs and steps),
:mod:`.scripts` (script bodies and the mlops command lines in them), :mod:`.secrets`
and :mod:`.rules` (the checks). The package names what the use cases call; the rest is imported from its module.
"""

from .expansion import Doc, Expanded, expand, is_template
from .expressions import Expr
from .findings import CODES, Finding, Loc
from .resolve import origin, resolve
from .rules import CommandCheck, check_all
from .scripts import is_placeholder

__all__ = ["CODES", "CommandCheck", "Doc", "Expanded", "Expr", "Finding", "Loc", "check_all", "expand", "is_placeholder",
           "is_template", "origin", "resolve"]
