"""Reports of a conformance run: Allure results and HTML, summary.md, comparison, redaction scan."""
