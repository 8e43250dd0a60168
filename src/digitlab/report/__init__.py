"""The lab's report: one self-contained HTML page per dataset, built from the runs in the store.

>>> from digitlab.experiments import open_storage                        # doctest: +SKIP
>>> from digitlab.report import build_report, comparison_rows
>>> build_report(open_storage(), "mnist", Path("reports/mnist"))       # -> reports/mnist/index.html
>>> comparison_rows(open_storage(), "mnist")[0]["test_accuracy"]
"""

from digitlab.report.build import build_report, comparison_rows, render_report

__all__ = ["build_report", "comparison_rows", "render_report"]
