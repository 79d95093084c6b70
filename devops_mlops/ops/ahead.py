"""Work of this process done ahead, on the core the notebooks leave idle (`mlops lifecycle`, local).

While the first steps run (lint, then the test notebook in a kernel, which this process only
waits for), a daemon thread does what the later steps of this process will need anyway:

1. it opens the registry: on a clean local state this creates MLflow's sqlite store (its schema
   migrations take seconds), which the training notebook would otherwise create on its own time;
2. it imports the heavy libraries the gate, the inference and the monitoring of this process use
   (MLflow's pyfunc flavour and skops, scikit-learn, pandas, Delta): paid once per process anyway.

The same work, done earlier: nothing is skipped. The steps wait for it where they need it
(:meth:`Ahead.wait_registry` before the first notebook that touches the registry,
:meth:`Ahead.wait` before this process loads a model). A failure in the thread is dropped: the
step that needs the registry or the library meets the error itself and reports it as usual.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

#: what this process imports to gate, score and monitor a model, besides the project's libraries
LIBRARIES = ("mlflow", "mlflow.pyfunc", "mlflow.sklearn", "skops.io", "pandas", "pyarrow.dataset", "deltalake")


class Ahead:
    def __init__(self, ctx, modules: Iterable[str] = ()):
        self.ctx = ctx
        self.modules = list(dict.fromkeys([*LIBRARIES, *modules]))
        self.imported: list[str] = []
        self.registry_ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlops-ahead", daemon=True)

    def start(self) -> Ahead:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.ctx.registry.open()  # a new local store creates its tables
        except Exception:  # noqa: BLE001, S110 - the step that needs the registry reports it
            pass
        finally:
            self.registry_ready.set()
        for name in self.modules:
            try:
                importlib.import_module(name)
                self.imported.append(name)
            except Exception:  # noqa: BLE001, S112 - a library that does not import is just not ahead
                continue

    def wait_registry(self) -> None:
        """Until the registry is open (before a notebook that writes to it runs)."""
        if self._thread.ident is not None:
            self.registry_ready.wait()

    def wait(self) -> None:
        """Until all of it is done."""
        if self._thread.ident is not None:
            self._thread.join()
