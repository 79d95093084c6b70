"""One notebook's plan run in one kernel: the shim installed, each unit executed in turn, the
failure (if any) located in the notebook's own files, the test functions called at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

from .kernels import kill_group, new_kernel, stop_kernel
from .plan import Plan, Unit
from .pool import active, enter_code
from .results import NotebookResult

#: characters of what a notebook printed kept in its result
OUTPUT_LIMIT = 20000


def unit_code(unit: Unit) -> str:
    """The code a kernel runs for a unit of the plan: a cell's code, or a call of the shim."""
    if unit.kind == "code":
        return unit.source
    if unit.kind == "sql":
        return f"_mlops_shim.run_sql({unit.source!r})"
    if unit.kind == "params":
        return "_mlops_shim.inject_parameters()"
    if unit.kind == "push":
        return f"_mlops_shim.push_params(__import__('json').loads({json.dumps(unit.args)!r}))"
    return "_mlops_shim.pop_params()"


class Session:
    """One kernel running one plan: a kernel of its own, or one taken from the active pool."""

    def __init__(self, plan: Plan, state_dir: Path, cwd: Path, env: dict[str, str], result: NotebookResult,
                 python: str | None = None):
        self.plan, self.state_dir, self.cwd, self.env, self.result = plan, state_dir, cwd, env, result
        self.python = python
        self.client = None
        self.pool = self.pooled = None
        self.pid: int | None = None
        self.current: Unit | None = None
        self.output: list[str] = []
        self.output_size = 0
        self.timed_out = False

    def kill(self) -> None:
        """Kill the kernel at once (a timeout)."""
        if self.pid:
            kill_group(self.pid)

    async def start(self) -> None:
        """Take or start the kernel."""
        # an isolated interpreter (python=...) always gets a kernel of its own
        self.pool = active() if not self.python else None
        if self.pool is not None:
            self.pooled = await self.pool.acquire(self.env)
            self.client, self.pid = self.pooled.client, self.pooled.pid
        else:
            self.client, self.pid = await new_kernel(self.state_dir, self.cwd, self.env, python=self.python)
        self.result.kernel_pid = self.pid

    async def execute(self, code: str, index: int):
        """Run ``code`` as a cell; keep what it printed; return its error output, if any."""
        import nbformat

        cell = nbformat.v4.new_code_cell(code)
        self.client.nb.cells.append(cell)
        await self.client.async_execute_cell(cell, len(self.client.nb.cells) - 1)
        error = None
        for out in cell.outputs:
            if out.get("output_type") == "stream" and self.output_size < OUTPUT_LIMIT:
                text = out.get("text", "")
                self.output.append(text)
                self.output_size += len(text)
            elif out.get("output_type") == "error":
                error = out
        return error

    async def run(self) -> None:
        """Install the shim, run the plan's units until one fails or the notebook exits, then its tests."""
        from nbclient.exceptions import DeadKernelError

        await self.start()
        if self.python:  # the toolkit may not be installed there: the shim package alone (stdlib only)
            shim = Path(__file__).with_name("shim")
            load = ("import importlib.util as _u, sys as _s\n"
                    f"_spec = _u.spec_from_file_location('_mlops_shim', {str(shim / '__init__.py')!r}, "
                    f"submodule_search_locations=[{str(shim)!r}])\n"
                    "_mlops_shim = _s.modules['_mlops_shim'] = _u.module_from_spec(_spec)\n"
                    "_spec.loader.exec_module(_mlops_shim)\n")
        else:
            load = "import devops_mlops.kernel.shim as _mlops_shim\n"
        if self.pooled is not None:
            load = enter_code(self.env) + load
        setup = load + f"_mlops_shim.install(get_ipython(), {str(self.state_dir / 'config.json')!r})"
        error = await self.execute(setup, 0)
        if error is not None:
            self._fail(None, f"the runtime could not start in the kernel: {error.get('ename')}: {error.get('evalue')}", error)
            return
        try:
            for index, unit in enumerate(self.plan.units):
                self.current = unit
                error = await self.execute(unit_code(unit), index)
                if (self.state_dir / "exit.json").exists():
                    data = json.loads((self.state_dir / "exit.json").read_text(encoding="utf-8"))
                    self.result.exit_value = data.get("value")
                    break
                if error is not None:
                    self._fail(unit, None, error)
                    return
            self.current = None
            error = await self.execute("_mlops_shim.run_tests()", len(self.plan.units))
            if error is not None:
                self._fail(None, f"running the test_* functions failed: {error.get('ename')}: {error.get('evalue')}", error)
        except DeadKernelError:
            if self.timed_out:
                return
            unit = self.current
            self.result.status = "failed"
            self.result.error = "the kernel died" + (f" while running cell {unit.cell}" if unit else "")
            if unit:
                self.result.cell, self.result.line, self.result.error_path = unit.cell, unit.line, str(unit.path)
        finally:
            self.result.output = "".join(self.output)[:OUTPUT_LIMIT]

    def _fail(self, unit: Unit | None, message: str | None, error) -> None:
        """Record a failure: in the runtime's setup (no unit), or in a unit, where the error the shim mapped
        (error.json) or a syntax error found here gives the file line."""
        from ..core.junit import clean_text

        r = self.result
        r.status = "failed"
        ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
        r.error = message or f"{ename}: {evalue}"
        info_file = self.state_dir / "error.json"
        info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.exists() else None
        if unit is None:
            r.traceback = clean_text("\n".join(error.get("traceback") or []))
            return
        r.cell, r.line, r.error_path = unit.cell, unit.line, str(unit.path)
        if info and info.get("ename") == ename:
            r.traceback = info["traceback"]
            r.error = f"{info['ename']}: {info['evalue']}"
            if info.get("path"):
                r.error_path, r.cell, r.line = info["path"], info["cell"], info["line"]
            return
        # errors before execution (SyntaxError) do not reach the handler: find the line ourselves
        syntax = _syntax_error(unit.source)
        if syntax is not None:
            n = syntax.lineno or 0
            r.line = unit.line_map[n - 1] if 0 < n <= len(unit.line_map) else r.line
            r.error = f"{type(syntax).__name__}: {syntax.msg}"
            r.traceback = f'  File "{unit.path}", line {r.line} (cell {unit.cell})\n    {(syntax.text or "").strip()}\n{r.error}'
            return
        r.traceback = clean_text("\n".join(error.get("traceback") or [])) or r.error

    async def stop(self) -> None:
        """Give a pooled kernel back (reusable only after a pass), or stop the kernel of its own."""
        if self.pooled is not None:
            # a kernel is handed on only after a notebook that passed (docs/test.md)
            clean = self.result.status == "passed" and not self.timed_out and self.result.status != "timeout"
            await self.pool.release(self.pooled, clean)
        elif self.client is not None:
            await stop_kernel(self.client, self.pid)


def _syntax_error(source: str) -> SyntaxError | None:
    """The SyntaxError of a cell's source (its IPython syntax transformed first), None if it compiles."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:
        code = source
    try:
        compile(code, "<cell>", "exec")
    except SyntaxError as exc:
        return exc
    return None
