"""``python -m snapconform.mutants``: the mutant catalogue as Markdown (for docs/mutation.md)."""

from snapconform.mutants import catalogue_markdown

print(catalogue_markdown(), end="")
