"""Importable test helpers: programs under test, event factories, a Lambda context, hand-made graphs.

Fixtures built on them live in ``tests/conftest.py`` (shared) and in an area's own ``conftest.py``.
"""
