"""The harness version, in a module of its own.

Modules import it from here rather than from the package's ``__init__``: when an editable install
is shadowed by a directory named ``snapconform/`` without ``__init__.py`` earlier on ``sys.path``
(a leftover of an uninstalled regular install in site-packages, or a project's settings folder in
the working directory), Python imports ``snapconform`` as a namespace package and its
``__init__`` never runs, while every submodule still resolves through the editable finder.
"""

__version__ = "0.1.0"
