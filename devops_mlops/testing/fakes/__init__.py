"""In-memory fakes of the ports: each keeps its state in plain Python objects, behaves as the
port's contract suite (tests/contract/) says every adapter must, and offers assertion helpers
(what was written, assigned, sent) so a use-case test reads state, not call mocks.

They need no process, socket, kernel or library beyond the standard one: the fast tier
(``./scripts/test --fast``) runs the use cases over them.
"""
